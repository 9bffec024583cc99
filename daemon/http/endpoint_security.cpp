// SPDX-License-Identifier: Apache-2.0
#include "http/endpoint_security.h"

#include "http/web_config.h"

namespace execmond::http {

std::string EndpointSecurity::describe() const {
  std::string text = tls ? "TLS" : "plain HTTP";
  if (users.empty()) return text + ", no authentication";
  return text + ", basic auth (" + std::to_string(users.size()) +
         (users.size() == 1 ? " user)" : " users)");
}

std::shared_ptr<const EndpointSecurity> load_endpoint_security(
    const std::optional<std::string>& web_config_file) {
  auto security = std::make_shared<EndpointSecurity>();
  if (!web_config_file) return security;
  const WebConfig config = load_web_config_file(*web_config_file);
  security->source = config.source;
  if (config.tls) security->tls = std::make_shared<const TlsContext>(*config.tls);
  security->users = config.basic_auth_users;
  return security;
}

}  // namespace execmond::http

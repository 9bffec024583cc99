// SPDX-License-Identifier: Apache-2.0
// Who may read /metrics: the web configuration made ready to serve, with its certificates
// read. Built whole before it replaces the one in use, so a bad reload changes nothing.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "http/basic_auth.h"
#include "http/tls.h"

namespace execmond::http {

struct EndpointSecurity {
  std::string source;                     // the web configuration file, or empty
  std::shared_ptr<const TlsContext> tls;  // null: plain HTTP
  Authenticator::Users users;             // empty: no authentication

  // "TLS, basic auth (2 users)" for the log.
  std::string describe() const;
};

// Reads and checks `web_config_file` (none: plain HTTP, no authentication). A ConfigError,
// located, on any problem.
std::shared_ptr<const EndpointSecurity> load_endpoint_security(
    const std::optional<std::string>& web_config_file);

}  // namespace execmond::http

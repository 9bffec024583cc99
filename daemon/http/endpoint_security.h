// SPDX-License-Identifier: Apache-2.0
// Who may read /metrics and how it is answered: the web configuration made ready to
// serve, with its certificates read. Built whole before it replaces the one in use, so a
// bad reload changes nothing.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/basic_auth.h"
#include "http/credential_file.h"
#include "http/tls.h"
#include "http/web_config.h"

namespace execmond::http {

struct EndpointSecurity {
  std::string source;  // the web configuration file, or empty
  std::optional<TlsSettings> tls_settings;
  std::shared_ptr<const TlsContext> tls;  // null: plain HTTP
  BasicAuthUsers users;                   // empty: no authentication
  std::string headers;                    // http_server_config.headers, as "Name: value\r\n"...
  std::optional<RateLimit> rate_limit;
  // A digest of everything that decides who gets in: TLS on or off, the client CA and
  // policy, allowed SANs, protocol versions, users and hashes. Two configurations with the
  // same admission admit the same clients; a reload that changes it ends the connections
  // admitted under the old one. A renewed server certificate does not change it.
  std::string admission;
  // The certificate, key and CA files as they were when read: when one changes, the
  // certificates are read again (certificate_watcher.h).
  std::vector<std::pair<std::string, std::optional<FileStamp>>> tls_files;
  // Keys accepted but ignored, each with its place, for the log.
  std::vector<std::string> notes;

  // "TLS, basic auth (2 users)" for the log.
  std::string describe() const;
};

// Reads and checks `web_config_file` (none: plain HTTP, no authentication). A ConfigError,
// located, on any problem.
std::shared_ptr<const EndpointSecurity> load_endpoint_security(
    const std::optional<std::string>& web_config_file);

// `current` with its TLS files read again (the same settings): renewed certificates.
std::shared_ptr<const EndpointSecurity> reread_certificates(const EndpointSecurity& current);

}  // namespace execmond::http

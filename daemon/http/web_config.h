// SPDX-License-Identifier: Apache-2.0
// The web configuration file: TLS, basic auth and response headers of /metrics, in the
// format of the Prometheus exporter-toolkit (docs/web-configuration.md) so that one file
// serves every exporter on a host. Keys that would weaken security if ignored and that
// execmond does not implement are refused with their line; keys that are harmless to
// ignore are accepted and named in `ignored`, which the daemon logs.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace execmond::http {

// tls_server_config.client_auth_type, as Go's crypto/tls names the policies.
enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

enum class TlsVersion { kTls10, kTls11, kTls12, kTls13 };

struct TlsSettings {
  // Paths as written, made absolute against the web configuration file's directory; empty
  // when the PEM text is inline (cert, key, client_ca) or, for the CA, absent.
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  // The inline PEM texts (exporter-toolkit's cert, key and client_ca).
  std::string cert_pem;
  std::string key_pem;
  std::string client_ca_pem;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  // A client certificate must name one of these (DNS, e-mail, IP or URI SAN) exactly.
  // Empty: any.
  std::vector<std::string> client_allowed_sans;
  // "<file>:<line>:<column>: tls_server_config.cert_file" and so on: where a problem found
  // when the files are read (after parsing) is reported.
  std::string cert_file_at;
  std::string key_file_at;
  std::string client_ca_file_at;

  bool operator==(const TlsSettings& other) const;
};

// rate_limit: a token bucket over every request, as the exporter-toolkit's.
struct RateLimit {
  std::chrono::nanoseconds interval{0};  // between two requests
  int burst = 0;
};

struct WebConfig {
  std::string source;              // the file's path
  std::optional<TlsSettings> tls;  // none: plain HTTP
  // user -> bcrypt hash ($2a$, $2b$ or $2y$). Empty: no authentication.
  std::map<std::string, std::string> basic_auth_users;
  // http_server_config.headers: added to every response, in the file's order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<RateLimit> rate_limit;
  // "web.yml:5:3: http_server_config.http2 is ignored: ..." for the log.
  std::vector<std::string> ignored;
};

// Parses YAML text; `source` names it in errors (a ConfigError, located) and relative paths
// are taken from its directory.
WebConfig parse_web_config(std::string_view yaml, const std::string& source);
WebConfig load_web_config_file(const std::string& path);

}  // namespace execmond::http

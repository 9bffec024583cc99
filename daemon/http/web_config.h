// SPDX-License-Identifier: Apache-2.0
// The web configuration file: TLS and basic auth of /metrics, in the format of the
// Prometheus exporter-toolkit (docs/web-configuration.md) so that one file serves every
// exporter on a host. Keys execmond does not support are refused, never ignored.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

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
  // Paths as written, made absolute against the web configuration file's directory.
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // empty: none
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  // "<file>:<line>:<column>: tls_server_config.cert_file" and so on: where a problem found
  // when the files are read (after parsing) is reported.
  std::string cert_file_at;
  std::string key_file_at;
  std::string client_ca_file_at;
};

struct WebConfig {
  std::string source;              // the file's path
  std::optional<TlsSettings> tls;  // none: plain HTTP
  // user -> bcrypt hash ($2a$, $2b$ or $2y$). Empty: no authentication.
  std::map<std::string, std::string> basic_auth_users;
};

// Parses YAML text; `source` names it in errors (a ConfigError, located) and relative paths
// are taken from its directory.
WebConfig parse_web_config(std::string_view yaml, const std::string& source);
WebConfig load_web_config_file(const std::string& path);

}  // namespace execmond::http

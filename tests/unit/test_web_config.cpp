// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <string>

#include "config/config_error.h"
#include "http/web_config.h"

namespace execmond::http {
namespace {

const std::string kHash = "$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze";

std::string rejection(const std::string& yaml) {
  try {
    parse_web_config(yaml, "/etc/execmond/web.yml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(accepted)";
}

TEST_CASE("an empty web configuration means plain HTTP without authentication") {
  const WebConfig config = parse_web_config("# nothing\n", "web.yml");
  CHECK_FALSE(config.tls);
  CHECK(config.basic_auth_users.empty());
}

TEST_CASE("a full web configuration") {
  const WebConfig config = parse_web_config(
      "tls_server_config:\n"
      "  cert_file: server.crt\n"
      "  key_file: /keys/server.key\n"
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  client_ca_file: ca.crt\n"
      "  min_version: TLS13\n"
      "  max_version: TLS13\n"
      "basic_auth_users:\n"
      "  alice: " +
          kHash +
          "\n"
          "  bob: '" +
          kHash + "'\n",
      "/etc/execmond/web.yml");
  REQUIRE(config.tls);
  CHECK(config.tls->cert_file == "/etc/execmond/server.crt");  // relative to the file
  CHECK(config.tls->key_file == "/keys/server.key");
  CHECK(config.tls->client_ca_file == "/etc/execmond/ca.crt");
  CHECK(config.tls->client_auth == ClientAuth::kRequireAndVerifyClientCert);
  CHECK(config.tls->min_version == TlsVersion::kTls13);
  CHECK(config.tls->cert_file_at == "/etc/execmond/web.yml:2:14: tls_server_config.cert_file");
  CHECK(config.basic_auth_users.size() == 2);
  CHECK(config.basic_auth_users.at("bob") == kHash);
}

TEST_CASE("TLS defaults follow the exporter-toolkit") {
  const WebConfig config =
      parse_web_config("tls_server_config: {cert_file: a, key_file: b}\n", "web.yml");
  REQUIRE(config.tls);
  CHECK(config.tls->client_auth == ClientAuth::kNoClientCert);
  CHECK(config.tls->min_version == TlsVersion::kTls12);
  CHECK(config.tls->max_version == TlsVersion::kTls13);
  CHECK(config.tls->cert_file == "a");
}

TEST_CASE("every mistake in a web configuration is refused where it is") {
  const std::string tls = "tls_server_config:\n  cert_file: a\n  key_file: b\n";
  const auto [yaml, expected] = GENERATE_REF(table<std::string, std::string>({
      {"tls_server_confg: {}\n",
       R"(/etc/execmond/web.yml:1:1: unknown key "tls_server_confg" (did you mean "tls_server_config"?))"},
      {"http_server_config: {http2: false}\n",
       "/etc/execmond/web.yml:1:1: http_server_config is not supported by execmond (supported: "
       "tls_server_config, basic_auth_users)"},
      {"rate_limit: {}\n",
       "/etc/execmond/web.yml:1:1: rate_limit is not supported by execmond "
       "(supported: tls_server_config, basic_auth_users)"},
      {tls + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
       "/etc/execmond/web.yml:4:3: tls_server_config.cipher_suites is not supported by execmond "
       "(supported: cert_file, key_file, client_auth_type, client_ca_file, min_version, "
       "max_version)"},
      {tls + "  cert: inline\n",
       "/etc/execmond/web.yml:4:3: tls_server_config.cert is not supported by execmond "
       "(supported: cert_file, key_file, client_auth_type, client_ca_file, min_version, "
       "max_version)"},
      {tls + "  key_fille: c\n",
       R"(/etc/execmond/web.yml:4:3: unknown key "key_fille" (did you mean "key_file"?))"},
      {tls + "  key_file: c\n", R"(/etc/execmond/web.yml:4:3: duplicate key "key_file")"},
      {"tls_server_config:\n  cert_file: a\n",
       "/etc/execmond/web.yml:1:1: tls_server_config: expected both cert_file and key_file"},
      {"tls_server_config: yes\n",
       "/etc/execmond/web.yml:1:20: tls_server_config: expected settings such as cert_file and "
       "key_file, got \"yes\""},
      {"tls_server_config:\n  cert_file: ''\n  key_file: b\n",
       "/etc/execmond/web.yml:2:14: tls_server_config.cert_file: expected a file name, got \"\""},
      {"tls_server_config:\n  cert_file: [a]\n  key_file: b\n",
       "/etc/execmond/web.yml:2:14: tls_server_config.cert_file: expected a file name, got a "
       "list"},
      {tls + "  client_auth_type: RequireClientCert\n",
       "/etc/execmond/web.yml:4:21: tls_server_config.client_auth_type: expected one of "
       "NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
       "RequireAndVerifyClientCert, got \"RequireClientCert\""},
      {tls + "  client_auth_type: RequireAndVerifyClientCert\n",
       "/etc/execmond/web.yml:1:1: tls_server_config: client_auth_type RequireAndVerifyClientCert "
       "needs client_ca_file, the CA that signs client certificates"},
      {tls + "  client_ca_file: ca.crt\n",
       "/etc/execmond/web.yml:1:1: tls_server_config: client_ca_file is set but client_auth_type "
       "is NoClientCert (use VerifyClientCertIfGiven or RequireAndVerifyClientCert)"},
      {tls + "  min_version: TLS1.2\n",
       "/etc/execmond/web.yml:4:16: tls_server_config.min_version: expected one of TLS10, TLS11, "
       "TLS12, TLS13, got \"TLS1.2\""},
      {tls + "  min_version: TLS13\n  max_version: TLS12\n",
       "/etc/execmond/web.yml:5:16: tls_server_config: max_version is below min_version"},
      {"basic_auth_users: alice\n",
       "/etc/execmond/web.yml:1:19: basic_auth_users: expected user names, each with a bcrypt "
       "hash such as \"$2y$10$...\", got \"alice\""},
      {"basic_auth_users:\n  alice: secret\n",
       "/etc/execmond/web.yml:2:10: basic_auth_users.alice: expected a bcrypt hash such as "
       "\"$2y$10$...\" (60 characters), got \"secret\""},
      {"basic_auth_users:\n  alice:\n",
       "/etc/execmond/web.yml:2:3: basic_auth_users.alice: expected a bcrypt hash such as "
       "\"$2y$10$...\" (60 characters), got nothing"},
      {"basic_auth_users:\n  alice: " + kHash + "\n  alice: " + kHash + "\n",
       "/etc/execmond/web.yml:3:3: basic_auth_users: duplicate user \"alice\""},
      {"basic_auth_users:\n  'a:b': " + kHash + "\n",
       "/etc/execmond/web.yml:2:3: basic_auth_users.a:b: a user name cannot contain \":\" in "
       "basic auth"},
      {"- tls_server_config\n",
       "/etc/execmond/web.yml:1:1: expected tls_server_config and basic_auth_users settings, got "
       "a list"},
      {"basic_auth_users: {\n",
       "/etc/execmond/web.yml:2:1: invalid YAML: end of map flow not found"},
  }));
  CAPTURE(yaml);
  CHECK(rejection(yaml) == expected);
}

}  // namespace
}  // namespace execmond::http

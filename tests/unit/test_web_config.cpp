// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

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

TEST_CASE("a web configuration shared with exporter-toolkit exporters starts") {
  const WebConfig config = parse_web_config(
      "tls_server_config:\n"
      "  cert_file: server.crt\n"
      "  key_file: server.key\n"
      "  client_auth_type: RequireClientCert\n"  // the legacy spelling
      "  client_allowed_sans: [prometheus.example, 10.0.0.7]\n"
      "http_server_config:\n"
      "  http2: true\n"
      "  headers:\n"
      "    X-Frame-Options: deny\n"
      "    Strict-Transport-Security: max-age=31536000\n"
      "    X-XSS-Protection: ''\n"  // unset if blank
      "rate_limit:\n"
      "  interval: 100ms\n"
      "  burst: 20\n",
      "/etc/execmond/web.yml");
  REQUIRE(config.tls);
  CHECK(config.tls->client_auth == ClientAuth::kRequireAnyClientCert);
  CHECK(config.tls->client_allowed_sans ==
        std::vector<std::string>{"prometheus.example", "10.0.0.7"});
  CHECK(config.headers ==
        std::vector<std::pair<std::string, std::string>>{
            {"X-Frame-Options", "deny"}, {"Strict-Transport-Security", "max-age=31536000"}});
  REQUIRE(config.rate_limit);
  CHECK(config.rate_limit->interval == std::chrono::milliseconds(100));
  CHECK(config.rate_limit->burst == 20);
  REQUIRE(config.ignored.size() == 1);
  CHECK(config.ignored[0] ==
        "/etc/execmond/web.yml:7:3: http_server_config.http2 is ignored: execmond serves HTTP/1.1, "
        "which every Prometheus scrapes");
}

TEST_CASE("inline PEM, an empty TLS section, no rate limit") {
  const WebConfig inline_pem = parse_web_config(
      "tls_server_config:\n  cert: |\n    -----BEGIN CERTIFICATE-----\n    x\n"
      "  key: \"-----BEGIN PRIVATE KEY-----\\ny\"\n",
      "web.yml");
  REQUIRE(inline_pem.tls);
  CHECK(inline_pem.tls->cert_file.empty());
  CHECK(inline_pem.tls->cert_pem == "-----BEGIN CERTIFICATE-----\nx\n");
  CHECK(inline_pem.tls->key_pem == "-----BEGIN PRIVATE KEY-----\ny");
  CHECK(inline_pem.tls->key_file_at == "web.yml:5:8: tls_server_config.key");
  // As the exporter-toolkit: a TLS section that names no certificate is plain HTTP.
  for (const std::string yaml :
       {"tls_server_config:\n", "tls_server_config: {min_version: TLS13}\n"}) {
    CAPTURE(yaml);
    const WebConfig config = parse_web_config(yaml, "web.yml");
    CHECK_FALSE(config.tls);
    REQUIRE(config.ignored.size() == 1);
    CHECK(config.ignored[0].find("serving plain HTTP") != std::string::npos);
  }
  CHECK_FALSE(parse_web_config("rate_limit: {interval: 0, burst: 0}\n", "web.yml").rate_limit);
  CHECK(parse_web_config("basic_auth_users:\n", "web.yml").basic_auth_users.empty());
}

TEST_CASE("every mistake in a web configuration is refused where it is") {
  const std::string tls = "tls_server_config:\n  cert_file: a\n  key_file: b\n";
  const auto [yaml, expected] = GENERATE_REF(table<std::string, std::string>({
      {"tls_server_confg: {}\n",
       R"(/etc/execmond/web.yml:1:1: unknown key "tls_server_confg" (did you mean "tls_server_config"?))"},
      {"http_server_config: {http2: maybe}\n",
       "/etc/execmond/web.yml:1:29: http_server_config.http2: expected true or false, got "
       "\"maybe\""},
      {"http_server_config: {http3: true}\n",
       R"(/etc/execmond/web.yml:1:22: unknown key "http3" (did you mean "http2"?))"},
      {"http_server_config:\n  headers:\n    Server: execmond\n",
       "/etc/execmond/web.yml:3:5: http_server_config.headers: \"Server\" cannot be set "
       "(settable, as in the exporter-toolkit: Content-Security-Policy, Strict-Transport-Security, "
       "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection)"},
      {"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
       "/etc/execmond/web.yml:3:22: http_server_config.headers.X-Frame-Options: expected one of "
       "deny, sameorigin, got \"allow\""},
      {"http_server_config:\n  headers:\n    Content-Security-Policy: \"a\\r\\nSet-Cookie: x\"\n",
       "/etc/execmond/web.yml:3:30: http_server_config.headers.Content-Security-Policy: expected "
       "a header value without control characters, got \"a\\x0d\\nSet-Cookie: x\""},
      {"rate_limit: {interval: 1s, burst: 0}\n",
       "/etc/execmond/web.yml:1:35: rate_limit.burst: expected at least 1 (with 0 every request "
       "would be refused)"},
      {"rate_limit: {interval: soon}\n",
       "/etc/execmond/web.yml:1:24: rate_limit.interval: expected a duration such as 250ms or 2s, "
       "got \"soon\""},
      {tls + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
       "/etc/execmond/web.yml:4:3: tls_server_config.cipher_suites is not supported by execmond, "
       "and ignoring it would accept connections it is meant to refuse (supported: cert_file, "
       "key_file, cert, key, client_auth_type, client_ca_file, client_ca, client_allowed_sans, "
       "min_version, max_version)"},
      {tls + "  prefer_server_cipher_suites: true\n",
       "/etc/execmond/web.yml:4:3: tls_server_config.prefer_server_cipher_suites is not supported "
       "by execmond, and ignoring it would accept connections it is meant to refuse (supported: "
       "cert_file, key_file, cert, key, client_auth_type, client_ca_file, client_ca, "
       "client_allowed_sans, min_version, max_version)"},
      {tls + "  curve_preferences: [X25519]\n",
       "/etc/execmond/web.yml:4:3: tls_server_config.curve_preferences is not supported by "
       "execmond, and ignoring it would accept connections it is meant to refuse (supported: "
       "cert_file, key_file, cert, key, client_auth_type, client_ca_file, client_ca, "
       "client_allowed_sans, min_version, max_version)"},
      {tls + "  cert: inline\n",
       "/etc/execmond/web.yml:4:9: tls_server_config.cert: expected PEM text (-----BEGIN ...), got "
       "\"inline\""},
      {tls + "  cert: \"-----BEGIN CERTIFICATE-----\"\n",
       "/etc/execmond/web.yml:1:1: tls_server_config: cert and cert_file are both set; give the "
       "PEM text or its file, not both"},
      {tls + "  client_allowed_sans: [a.example]\n",
       "/etc/execmond/web.yml:4:3: tls_server_config: client_allowed_sans needs client_auth_type "
       "RequireAndVerifyClientCert (or RequireAnyClientCert), got NoClientCert"},
      {tls + "  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: a.example\n",
       "/etc/execmond/web.yml:5:24: tls_server_config.client_allowed_sans: expected a list of "
       "subject alternative names, got \"a.example\""},
      {tls + "  key_fille: c\n",
       R"(/etc/execmond/web.yml:4:3: unknown key "key_fille" (did you mean "key_file"?))"},
      {tls + "  key_file: c\n", R"(/etc/execmond/web.yml:4:3: duplicate key "key_file")"},
      {"tls_server_config:\n  cert_file: a\n",
       "/etc/execmond/web.yml:1:1: tls_server_config: expected both cert_file and key_file (or "
       "cert and key)"},
      {"tls_server_config: yes\n",
       "/etc/execmond/web.yml:1:20: tls_server_config: expected settings such as cert_file and "
       "key_file, got \"yes\""},
      {"tls_server_config:\n  cert_file: ''\n  key_file: b\n",
       "/etc/execmond/web.yml:2:14: tls_server_config.cert_file: expected a file name, got \"\""},
      {"tls_server_config:\n  cert_file: [a]\n  key_file: b\n",
       "/etc/execmond/web.yml:2:14: tls_server_config.cert_file: expected a file name, got a "
       "list"},
      {tls + "  client_auth_type: RequireClientCertificate\n",
       "/etc/execmond/web.yml:4:21: tls_server_config.client_auth_type: expected one of "
       "NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
       "RequireAndVerifyClientCert, got \"RequireClientCertificate\""},
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

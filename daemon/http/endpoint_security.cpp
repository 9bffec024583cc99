// SPDX-License-Identifier: Apache-2.0
#include "http/endpoint_security.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdexcept>

namespace execmond::http {
namespace {

// The PEM text a setting names: inline, or read from its file (bounded, regular files
// only), remembering the file's stamp from before it was read.
std::string pem_text(const std::string& file, const std::string& inline_pem, const std::string& at,
                     EndpointSecurity& security) {
  if (file.empty()) return inline_pem;
  security.tls_files.emplace_back(file, stamp_of(file));
  return read_credential_file(file, at);
}

void build_tls(const TlsSettings& settings, EndpointSecurity& security) {
  security.tls_files.clear();
  TlsMaterial material;
  material.cert_pem =
      pem_text(settings.cert_file, settings.cert_pem, settings.cert_file_at, security);
  material.key_pem = pem_text(settings.key_file, settings.key_pem, settings.key_file_at, security);
  material.client_ca_pem = pem_text(settings.client_ca_file, settings.client_ca_pem,
                                    settings.client_ca_file_at, security);
  security.tls = std::make_shared<const TlsContext>(settings, material);
  // The CA's content decides who gets in; the server certificate and key do not.
  std::string admission = "tls\n" + std::to_string(static_cast<int>(settings.client_auth)) + "\n" +
                          std::to_string(static_cast<int>(settings.min_version)) + "\n" +
                          std::to_string(static_cast<int>(settings.max_version)) + "\n";
  for (const std::string& san : settings.client_allowed_sans) admission += san + "\n";
  admission += material.client_ca_pem;
  security.admission = std::move(admission);
  OPENSSL_cleanse(material.key_pem.data(), material.key_pem.size());
}

std::string sha256_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 through OpenSSL failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

void seal_admission(EndpointSecurity& security) {
  std::string admission = security.tls ? security.admission : "plain\n";
  for (const auto& [user, hash] : security.users) admission += "user " + user + " " + hash + "\n";
  security.admission = sha256_hex(admission);
}

}  // namespace

std::string EndpointSecurity::describe() const {
  std::string text = tls ? "TLS" : "plain HTTP";
  if (users.empty()) return text + ", no authentication";
  return text + ", basic auth (" + std::to_string(users.size()) +
         (users.size() == 1 ? " user)" : " users)");
}

std::shared_ptr<const EndpointSecurity> load_endpoint_security(
    const std::optional<std::string>& web_config_file) {
  auto security = std::make_shared<EndpointSecurity>();
  if (web_config_file) {
    const WebConfig config = load_web_config_file(*web_config_file);
    security->source = config.source;
    security->tls_settings = config.tls;
    if (config.tls) build_tls(*config.tls, *security);
    security->users = config.basic_auth_users;
    for (const auto& [name, value] : config.headers)
      security->headers += name + ": " + value + "\r\n";
    security->rate_limit = config.rate_limit;
    security->notes = config.ignored;
  }
  seal_admission(*security);
  return security;
}

std::shared_ptr<const EndpointSecurity> reread_certificates(const EndpointSecurity& current) {
  auto renewed = std::make_shared<EndpointSecurity>(current);
  renewed->notes.clear();
  if (current.tls_settings) build_tls(*current.tls_settings, *renewed);
  seal_admission(*renewed);
  return renewed;
}

}  // namespace execmond::http

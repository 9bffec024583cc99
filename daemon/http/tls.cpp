// SPDX-License-Identifier: Apache-2.0
#include "http/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "config/config_error.h"

namespace execmond::http {
namespace {

// The oldest OpenSSL error on this thread's queue, which is the cause; the queue is
// cleared so that it does not leak into the next connection's report.
std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

int protocol_version(TlsVersion version) {
  switch (version) {
    case TlsVersion::kTls10:
      return TLS1_VERSION;
    case TlsVersion::kTls11:
      return TLS1_1_VERSION;
    case TlsVersion::kTls12:
      return TLS1_2_VERSION;
    case TlsVersion::kTls13:
      return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

struct FreeBio {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct FreeX509 {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
struct FreeKey {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct FreeNames {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};
using Bio = std::unique_ptr<BIO, FreeBio>;
using Certificate = std::unique_ptr<X509, FreeX509>;

Bio memory_bio(const std::string& text) {
  Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) throw std::bad_alloc();
  return bio;
}

// Every certificate in a PEM text, in order.
std::vector<Certificate> read_certificates(const std::string& pem) {
  const Bio bio = memory_bio(pem);
  std::vector<Certificate> certificates;
  while (Certificate certificate{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    certificates.push_back(std::move(certificate));
  }
  // The loop ends on "no start line" at the end of the text; anything else is a bad one.
  const unsigned long error = ERR_peek_last_error();
  if (ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
  }
  return certificates;
}

std::time_t not_after_of(X509* certificate) {
  std::tm expiry{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &expiry) != 1) return 0;
  return timegm(&expiry);
}

// A certificate's subject alternative names as the exporter-toolkit compares them: DNS
// names, e-mail addresses and URIs as written, IP addresses in their usual text form.
std::vector<std::string> alternative_names(X509* certificate) {
  std::vector<std::string> names;
  const std::unique_ptr<GENERAL_NAMES, FreeNames> general(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
  if (!general) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(general.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(general.get(), i);
    if (name->type == GEN_DNS || name->type == GEN_EMAIL || name->type == GEN_URI) {
      const ASN1_IA5STRING* text = name->d.ia5;
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                         static_cast<std::size_t>(ASN1_STRING_length(text)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* address = name->d.iPAddress;
      const int length = ASN1_STRING_length(address);
      char text[INET6_ADDRSTRLEN] = "";
      if ((length == 4 || length == 16) &&
          inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(address), text,
                    sizeof text) != nullptr) {
        names.emplace_back(text);
      }
    }
  }
  return names;
}

}  // namespace

void TlsContext::Free::operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
void TlsSession::Free::operator()(SSL* ssl) const { SSL_free(ssl); }

// OpenSSL calls this for each certificate of the client's chain, leaf (depth 0) last.
int TlsContext::verify_client(int preverified, X509_STORE_CTX* store) {
  SSL* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const auto* self = static_cast<const TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (!preverified && !self->accepts_any_certificate_) return 0;
  if (X509_STORE_CTX_get_error_depth(store) != 0 || self->allowed_sans_.empty()) return 1;
  X509* leaf = X509_STORE_CTX_get_current_cert(store);
  for (const std::string& name : alternative_names(leaf)) {
    if (std::find(self->allowed_sans_.begin(), self->allowed_sans_.end(), name) !=
        self->allowed_sans_.end()) {
      return 1;
    }
  }
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

TlsContext::TlsContext(const TlsSettings& settings, const TlsMaterial& material)
    : context_(SSL_CTX_new(TLS_server_method())),
      accepts_any_certificate_(settings.client_auth == ClientAuth::kRequestClientCert ||
                               settings.client_auth == ClientAuth::kRequireAnyClientCert),
      allowed_sans_(settings.client_allowed_sans) {
  if (!context_) throw ConfigError("cannot create a TLS context: " + openssl_error());
  SSL_CTX* context = context_.get();
  const auto require = [](int result, const char* what) {
    if (result != 1) throw ConfigError(std::string("TLS: ") + what + ": " + openssl_error());
  };
  require(SSL_CTX_set_min_proto_version(context, protocol_version(settings.min_version)),
          "cannot set min_version");
  require(SSL_CTX_set_max_proto_version(context, protocol_version(settings.max_version)),
          "cannot set max_version");
  // Partial writes of a long exposition, retried from wherever the buffer then is.
  SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  require(SSL_CTX_set_app_data(context, this), "cannot attach the verification settings");

  std::vector<Certificate> chain = read_certificates(material.cert_pem);
  if (chain.empty()) {
    throw ConfigError(settings.cert_file_at + ": no certificate in " +
                      (settings.cert_file.empty() ? "the PEM text" : settings.cert_file) + ": " +
                      openssl_error());
  }
  not_after_ = not_after_of(chain.front().get());
  char subject[256] = "";
  X509_NAME_oneline(X509_get_subject_name(chain.front().get()), subject, sizeof subject);
  subject_ = subject;
  if (SSL_CTX_use_certificate(context, chain.front().get()) != 1) {
    throw ConfigError(settings.cert_file_at + ": cannot use the certificate " + settings.cert_file +
                      ": " + openssl_error());
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    // add0 takes ownership on success only.
    if (SSL_CTX_add0_chain_cert(context, chain[i].get()) != 1) {
      throw ConfigError(settings.cert_file_at + ": cannot use the chain of " + settings.cert_file +
                        ": " + openssl_error());
    }
    chain[i].release();
  }
  {
    const Bio bio = memory_bio(material.key_pem);
    const std::unique_ptr<EVP_PKEY, FreeKey> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key || SSL_CTX_use_PrivateKey(context, key.get()) != 1) {
      throw ConfigError(settings.key_file_at + ": cannot load the private key " +
                        settings.key_file + ": " + openssl_error());
    }
  }
  if (SSL_CTX_check_private_key(context) != 1) {
    throw ConfigError(settings.key_file_at + ": the private key " + settings.key_file +
                      " does not match the certificate " + settings.cert_file);
  }
  if (!material.client_ca_pem.empty()) {
    const std::vector<Certificate> authorities = read_certificates(material.client_ca_pem);
    if (authorities.empty()) {
      throw ConfigError(settings.client_ca_file_at + ": no certificate in the client CA " +
                        settings.client_ca_file + ": " + openssl_error());
    }
    X509_STORE* store = SSL_CTX_get_cert_store(context);
    for (const Certificate& authority : authorities) {
      // Tell clients which CAs are accepted, as Go does.
      if (X509_STORE_add_cert(store, authority.get()) != 1 ||
          SSL_CTX_add_client_CA(context, authority.get()) != 1) {
        throw ConfigError(settings.client_ca_file_at + ": cannot use the client CA " +
                          settings.client_ca_file + ": " + openssl_error());
      }
    }
  }
  int mode = SSL_VERIFY_NONE;
  switch (settings.client_auth) {
    case ClientAuth::kNoClientCert:
      break;
    case ClientAuth::kRequestClientCert:
    case ClientAuth::kVerifyClientCertIfGiven:
      mode = SSL_VERIFY_PEER;
      break;
    case ClientAuth::kRequireAnyClientCert:
    case ClientAuth::kRequireAndVerifyClientCert:
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      break;
  }
  SSL_CTX_set_verify(context, mode, mode == SSL_VERIFY_NONE ? nullptr : verify_client);
  SSL_CTX_set_client_hello_cb(context, TlsSession::on_client_hello, nullptr);
  ERR_clear_error();
}

TlsSession::TlsSession(const std::shared_ptr<const TlsContext>& context, int fd,
                       ClientHelloGate gate)
    : context_(context), ssl_(SSL_new(context->get())), gate_(std::move(gate)) {
  if (!ssl_ || SSL_set_fd(ssl_.get(), fd) != 1 || SSL_set_app_data(ssl_.get(), this) != 1) {
    throw std::runtime_error("cannot start a TLS session: " + openssl_error());
  }
  SSL_set_accept_state(ssl_.get());
}

// Called by OpenSSL once the whole ClientHello is in, before anything costly.
int TlsSession::on_client_hello(SSL* ssl, int* alert, void*) {
  const auto* session = static_cast<const TlsSession*>(SSL_get_app_data(ssl));
  if (session == nullptr || !session->gate_ || session->gate_()) return SSL_CLIENT_HELLO_SUCCESS;
  *alert = SSL_AD_HANDSHAKE_FAILURE;
  return SSL_CLIENT_HELLO_ERROR;
}

TlsProgress TlsSession::progress(int result) {
  if (result > 0) return {TlsProgress::Status::kDone, static_cast<std::size_t>(result)};
  const int error = SSL_get_error(ssl_.get(), result);
  ERR_clear_error();
  switch (error) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return {TlsProgress::Status::kWouldBlock, 0};
    case SSL_ERROR_ZERO_RETURN:
      return {TlsProgress::Status::kClosed, 0};
    default:
      return {TlsProgress::Status::kFailed, 0};
  }
}

TlsProgress TlsSession::handshake() {
  const int result = SSL_do_handshake(ssl_.get());
  return result == 1 ? TlsProgress{} : progress(result);
}

TlsProgress TlsSession::read(char* buffer, std::size_t size) {
  return progress(SSL_read(ssl_.get(), buffer, static_cast<int>(size)));
}

TlsProgress TlsSession::write(const char* data, std::size_t size) {
  return progress(SSL_write(ssl_.get(), data, static_cast<int>(size)));
}

void TlsSession::shutdown() {
  SSL_shutdown(ssl_.get());
  ERR_clear_error();
}

}  // namespace execmond::http

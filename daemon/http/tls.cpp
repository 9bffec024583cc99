// SPDX-License-Identifier: Apache-2.0
#include "http/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

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

// RequestClientCert and RequireAnyClientCert take whatever certificate is offered.
int accept_any_certificate(int, X509_STORE_CTX*) { return 1; }

void set_client_auth(SSL_CTX* context, ClientAuth policy) {
  switch (policy) {
    case ClientAuth::kNoClientCert:
      SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuth::kRequestClientCert:
      SSL_CTX_set_verify(context, SSL_VERIFY_PEER, accept_any_certificate);
      break;
    case ClientAuth::kRequireAnyClientCert:
      SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         accept_any_certificate);
      break;
    case ClientAuth::kVerifyClientCertIfGiven:
      SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
      break;
    case ClientAuth::kRequireAndVerifyClientCert:
      SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
}

}  // namespace

void TlsContext::Free::operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
void TlsSession::Free::operator()(SSL* ssl) const { SSL_free(ssl); }

TlsContext::TlsContext(const TlsSettings& settings) : context_(SSL_CTX_new(TLS_server_method())) {
  if (!context_) throw ConfigError("cannot create a TLS context: " + openssl_error());
  SSL_CTX* context = context_.get();
  SSL_CTX_set_min_proto_version(context, protocol_version(settings.min_version));
  SSL_CTX_set_max_proto_version(context, protocol_version(settings.max_version));
  // Partial writes of a long exposition, retried from wherever the buffer then is.
  SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_use_certificate_chain_file(context, settings.cert_file.c_str()) != 1) {
    throw ConfigError(settings.cert_file_at + ": cannot load the certificate " +
                      settings.cert_file + ": " + openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(context, settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw ConfigError(settings.key_file_at + ": cannot load the private key " + settings.key_file +
                      ": " + openssl_error());
  }
  if (SSL_CTX_check_private_key(context) != 1) {
    throw ConfigError(settings.key_file_at + ": the private key " + settings.key_file +
                      " does not match the certificate " + settings.cert_file);
  }
  if (!settings.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(context, settings.client_ca_file.c_str(), nullptr) != 1) {
      throw ConfigError(settings.client_ca_file_at + ": cannot load the client CA " +
                        settings.client_ca_file + ": " + openssl_error());
    }
    // Tell clients which CAs are accepted, as Go does.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(context, names);
    }
  }
  set_client_auth(context, settings.client_auth);
  ERR_clear_error();
}

TlsSession::TlsSession(const std::shared_ptr<const TlsContext>& context, int fd)
    : context_(context), ssl_(SSL_new(context->get())) {
  if (!ssl_ || SSL_set_fd(ssl_.get(), fd) != 1) {
    throw std::runtime_error("cannot start a TLS session: " + openssl_error());
  }
  SSL_set_accept_state(ssl_.get());
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

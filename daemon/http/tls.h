// SPDX-License-Identifier: Apache-2.0
// TLS for /metrics with OpenSSL: a context built from the web configuration's settings
// and the PEM texts of its certificate, key and client CA (read by whoever builds it, so
// that a reload or a renewed file builds a new one), and one non-blocking session per
// connection.
#pragma once

#include <cstddef>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/web_config.h"

// OpenSSL's types, declared as its headers name them, so that only tls.cpp includes them.
struct ssl_ctx_st;
struct ssl_st;
struct x509_store_ctx_st;

namespace execmond::http {

// What a TLS context is built from: the settings, and the PEM texts the settings name.
struct TlsMaterial {
  std::string cert_pem;       // the certificate, then its chain
  std::string key_pem;        // the private key
  std::string client_ca_pem;  // empty: no client CA
};

class TlsContext {
 public:
  // A ConfigError placed at the key that names what failed (a certificate that does not
  // parse, a key that does not match it, a CA file with no certificate).
  TlsContext(const TlsSettings& settings, const TlsMaterial& material);
  // OpenSSL's context points back at this object.
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  ssl_ctx_st* get() const { return context_.get(); }

  // When the served certificate expires (its notAfter), as a Unix time.
  std::time_t not_after() const { return not_after_; }
  // Its subject, for the log.
  const std::string& subject() const { return subject_; }

 private:
  struct Free {
    void operator()(ssl_ctx_st* context) const;
  };
  static int verify_client(int preverified, x509_store_ctx_st* store);

  std::unique_ptr<ssl_ctx_st, Free> context_;
  bool accepts_any_certificate_ = false;  // RequestClientCert, RequireAnyClientCert
  std::vector<std::string> allowed_sans_;
  std::time_t not_after_ = 0;
  std::string subject_;
};

// What a non-blocking TLS operation did.
struct TlsProgress {
  enum class Status { kDone, kWouldBlock, kClosed, kFailed };
  Status status = Status::kDone;
  std::size_t bytes = 0;  // read or written, when kDone
};

class TlsSession {
 public:
  // Whether a client whose ClientHello has arrived whole may have its handshake, which is
  // where the server's signature and key exchange cost: false ends it there.
  using ClientHelloGate = std::function<bool()>;

  // Serves the connection on `fd` (not owned); the session keeps `context` alive.
  TlsSession(const std::shared_ptr<const TlsContext>& context, int fd, ClientHelloGate gate = {});
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  TlsProgress handshake();
  TlsProgress read(char* buffer, std::size_t size);
  TlsProgress write(const char* data, std::size_t size);
  // Best effort: a close_notify, without waiting for the peer's.
  void shutdown();

 private:
  TlsProgress progress(int result);

  struct Free {
    void operator()(ssl_st* ssl) const;
  };
  friend class TlsContext;  // installs on_client_hello
  static int on_client_hello(ssl_st* ssl, int* alert, void* unused);

  std::shared_ptr<const TlsContext> context_;
  std::unique_ptr<ssl_st, Free> ssl_;
  ClientHelloGate gate_;
};

}  // namespace execmond::http

// SPDX-License-Identifier: Apache-2.0
// TLS for /metrics with OpenSSL: a context built from the web configuration (certificates
// read when it is built, so a reload picks up renewed ones) and one non-blocking session
// per connection.
#pragma once

#include <cstddef>
#include <memory>

#include "http/web_config.h"

// OpenSSL's types, declared as its headers name them, so that only tls.cpp includes them.
struct ssl_ctx_st;
struct ssl_st;

namespace execmond::http {

class TlsContext {
 public:
  // Reads the certificate, key and client CA; a ConfigError placed at the key that names
  // the file that failed.
  explicit TlsContext(const TlsSettings& settings);
  ssl_ctx_st* get() const { return context_.get(); }

 private:
  struct Free {
    void operator()(ssl_ctx_st* context) const;
  };
  std::unique_ptr<ssl_ctx_st, Free> context_;
};

// What a non-blocking TLS operation did.
struct TlsProgress {
  enum class Status { kDone, kWouldBlock, kClosed, kFailed };
  Status status = Status::kDone;
  std::size_t bytes = 0;  // read or written, when kDone
};

class TlsSession {
 public:
  // Serves the connection on `fd` (not owned); the session keeps `context` alive.
  TlsSession(const std::shared_ptr<const TlsContext>& context, int fd);

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
  std::shared_ptr<const TlsContext> context_;
  std::unique_ptr<ssl_st, Free> ssl_;
};

}  // namespace execmond::http

// SPDX-License-Identifier: Apache-2.0
// One client connection of /metrics: its socket, its TLS session, the bytes of the request
// head received so far and the response being sent. What to do with a request is the
// server's business; this moves bytes, never blocking, and says where it is.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "http/eviction.h"
#include "http/request_parser.h"
#include "http/responses.h"
#include "http/tls.h"
#include "service/file_descriptor.h"

namespace execmond::http {

using Clock = std::chrono::steady_clock;

class Connection {
 public:
  enum class Stage {
    kHandshake,    // TLS handshake
    kReading,      // request head arriving (or none yet: idle)
    kAuthorizing,  // waiting for a bcrypt check
    kRendering,    // waiting for the exposition
    kWriting,      // sending the response
  };
  enum class Io { kDone, kWouldBlock, kClosed };

  // `tls` null: plain HTTP.
  Connection(FileDescriptor fd, std::uint64_t id, const std::shared_ptr<const TlsContext>& tls,
             Clock::time_point now);

  std::uint64_t id() const { return id_; }
  int fd() const { return fd_.get(); }
  Stage stage() const { return stage_; }
  Clock::time_point deadline() const { return deadline_; }
  Occupant occupant(Clock::time_point now) const;

  // kHandshake: kDone once the handshake is complete (the stage is then kReading).
  // A plain HTTP request to the TLS port gets a plain 400 saying so, and kClosed.
  Io handshake(Clock::time_point now);
  // kReading: appends what arrived to received(), at most kMaxRequestHead bytes in all.
  Io receive(Clock::time_point now);
  const std::string& received() const { return received_; }
  // The head of a complete request was handled: drops its bytes.
  void consume(std::size_t length);

  // Waits for something outside this connection: the request is kept meanwhile.
  void await(Stage stage, Request request, Clock::time_point now);
  const Request& request() const { return request_; }
  std::uint64_t awaited_cycle = 0;  // kRendering: the exposition cycle that answers

  // Starts sending `response` (stage kWriting).
  void respond(Response response, Clock::time_point now);
  // kWriting: kDone once all is sent; the stage is then kReading again.
  Io send(Clock::time_point now);
  bool close_after_response() const { return response_.close; }

  // Best effort: tell a TLS client that the connection ends.
  void shut_down();

 private:
  void enter(Stage stage, Clock::time_point now, Clock::duration timeout);
  Io send_plain(Clock::time_point now);
  Io send_tls(Clock::time_point now);
  // The response's bytes not yet sent after the head: from its body, or the next ones
  // its exposition cursor gives.
  std::string_view unsent_body();
  // `count` more bytes of head and body went out.
  void sent(std::size_t count, Clock::time_point now);

  FileDescriptor fd_;
  std::uint64_t id_;
  std::unique_ptr<TlsSession> tls_;
  bool tls_started_ = false;  // the client's first byte was a TLS record
  Stage stage_;
  Clock::time_point stage_since_;
  Clock::time_point deadline_;
  std::size_t requests_served_ = 0;
  std::string received_;
  Request request_;
  Response response_;
  std::size_t sent_ = 0;  // of head then body
  Clock::time_point last_sent_;
};

}  // namespace execmond::http

// SPDX-License-Identifier: Apache-2.0
// One client connection of /metrics: its socket, its TLS session, the bytes of the request
// head received so far and the response being sent. What to do with a request is the
// server's business; this moves bytes, never blocking, and says where it is.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "http/client_address.h"
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
  enum class Io {
    kDone,
    kWouldBlock,  // the socket is not ready: epoll says when it is
    kYield,       // this turn's share is used up: the server runs it again next turn
    kClosed,
  };

  // `tls` null: plain HTTP. `admitted_under`: the generation of the web configuration
  // that let it in.
  // `gate`: asked once the ClientHello is in whether the handshake may go on.
  Connection(FileDescriptor fd, std::uint64_t id, ClientAddress client,
             const std::shared_ptr<const TlsContext>& tls, std::uint64_t admitted_under,
             Clock::time_point now, TlsSession::ClientHelloGate gate = {});

  std::uint64_t id() const { return id_; }
  int fd() const { return fd_.get(); }
  const ClientAddress& client() const { return client_; }
  std::uint64_t admitted_under() const { return admitted_under_; }
  Stage stage() const { return stage_; }
  Clock::time_point deadline() const { return deadline_; }
  Occupant occupant(Clock::time_point now) const;

  // kHandshake: kDone once the handshake is complete (the stage is then kReading).
  // A plain HTTP request to the TLS port gets a plain 400 saying so, and kClosed.
  Io handshake(Clock::time_point now);
  // kReading: appends what arrived to the head, at most kMaxRequestHead bytes in all.
  Io receive(Clock::time_point now);
  // The request head at the start of what was received, resuming the previous search.
  ParsedHead parse();
  // The head of a complete request was handled: drops its bytes.
  void consume(std::size_t length);

  // Waits for something outside this connection: the request is kept meanwhile.
  void await(Stage stage, Request request, Clock::time_point now);
  const Request& request() const { return request_; }
  std::uint64_t awaited_cycle = 0;  // kRendering: the exposition cycle that answers

  // Starts sending `response` (stage kWriting).
  void respond(Response response, Clock::time_point now);
  // kWriting: sends at most `budget` bytes (less what it sent); kDone once all is sent,
  // the stage then kReading again.
  Io send(Clock::time_point now, std::size_t& budget);
  bool close_after_response() const { return close_after_ || retired_; }
  // The response being sent, and how far: for the byte budget of slow clients.
  const Response& response() const { return response_; }
  std::size_t bytes_sent() const { return sent_; }
  Clock::time_point response_started() const { return response_started_; }

  // A reload changed who may connect: the response in flight (or the one being
  // prepared) is the last; it says "Connection: close".
  void retire();
  bool retired() const { return retired_; }

  // Whether the server has it in its queue of connections to run next turn.
  bool queued = false;

  // Best effort: tell a TLS client that the connection ends.
  void shut_down();
  // Closing will reset the connection (SO_LINGER 0) rather than leave what is unsent in
  // the kernel's send queue to trickle out to a client that is being cut off for reading
  // too slowly: that memory is the daemon's too.
  void discard_unsent();

 private:
  void enter(Stage stage, Clock::time_point now, Clock::duration timeout);
  Io send_plain(Clock::time_point now, std::size_t& budget);
  Io send_tls(Clock::time_point now, std::size_t& budget);
  // At most `max` of the response's bytes not yet sent after the head: from its body, or
  // the next ones its exposition cursor gives.
  std::string_view unsent_body(std::size_t max);
  // `count` more bytes of head and body went out, taken from `budget`.
  void sent(std::size_t count, Clock::time_point now, std::size_t& budget);
  bool done_sending() const;

  FileDescriptor fd_;
  std::uint64_t id_;
  ClientAddress client_;
  std::uint64_t admitted_under_;
  std::unique_ptr<TlsSession> tls_;
  bool tls_started_ = false;  // the client's first byte was a TLS record
  bool retired_ = false;
  bool close_after_ = false;  // the response sent last said "Connection: close"
  Stage stage_;
  Clock::time_point stage_since_;
  Clock::time_point deadline_;
  std::size_t requests_served_ = 0;
  std::string received_;
  std::size_t scanned_ = 0;  // of received_, by the parser
  Request request_;
  Response response_;
  std::size_t sent_ = 0;  // of head then body
  Clock::time_point last_sent_;
  Clock::time_point response_started_;
};

}  // namespace execmond::http

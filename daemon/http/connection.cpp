// SPDX-License-Identifier: Apache-2.0
#include "http/connection.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

#include "http/limits.h"

namespace execmond::http {
namespace {

// The first byte of a TLS handshake record (RFC 8446 5.1): anything else is not TLS.
constexpr unsigned char kTlsHandshakeRecord = 0x16;
constexpr std::string_view kPlainToTlsPort =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Connection: close\r\nContent-Length: 47\r\n\r\n"
    "This endpoint needs TLS: ask for https:// URLs\n";
static_assert(std::string_view("This endpoint needs TLS: ask for https:// URLs\n").size() == 47);

constexpr Clock::time_point kNever = Clock::time_point::max();
// What one SSL_write is offered (a few TLS records).
constexpr std::size_t kTlsWriteChunk = 64 * 1024;

}  // namespace

Connection::Connection(FileDescriptor fd, std::uint64_t id, ClientAddress client,
                       const std::shared_ptr<const TlsContext>& tls, std::uint64_t admitted_under,
                       Clock::time_point now, TlsSession::ClientHelloGate gate)
    : fd_(std::move(fd)), id_(id), client_(std::move(client)), admitted_under_(admitted_under) {
  if (tls) {
    tls_ = std::make_unique<TlsSession>(tls, fd_.get(), std::move(gate));
    enter(Stage::kHandshake, now, kTlsHandshakeTimeout);
  } else {
    enter(Stage::kReading, now, kRequestHeadTimeout);
  }
}

void Connection::enter(Stage stage, Clock::time_point now, Clock::duration timeout) {
  stage_ = stage;
  stage_since_ = now;
  deadline_ = timeout == Clock::duration::max() ? kNever : now + timeout;
}

Occupant Connection::occupant(Clock::time_point now) const {
  switch (stage_) {
    case Stage::kWriting:
      if (now - last_sent_ >= kStalledAfter) return {Occupant::Stage::kStalled, last_sent_};
      return {Occupant::Stage::kServing, stage_since_};
    case Stage::kHandshake:
      return {Occupant::Stage::kIncomplete, stage_since_};
    case Stage::kReading:
      if (received_.empty() && requests_served_ > 0) return {Occupant::Stage::kIdle, stage_since_};
      return {Occupant::Stage::kIncomplete, stage_since_};
    default:
      return {Occupant::Stage::kServing, stage_since_};
  }
}

Connection::Io Connection::handshake(Clock::time_point now) {
  if (!tls_started_) {
    unsigned char first = 0;
    const ssize_t peeked = recv(fd_.get(), &first, 1, MSG_PEEK | MSG_DONTWAIT);
    if (peeked == 0) return Io::kClosed;
    if (peeked < 0) return errno == EAGAIN || errno == EINTR ? Io::kWouldBlock : Io::kClosed;
    if (first != kTlsHandshakeRecord) {
      // Not TLS at all, most likely http:// by mistake: say so, in plain text. Best
      // effort: the connection closes whatever this send does.
      [[maybe_unused]] const ssize_t said = ::send(
          fd_.get(), kPlainToTlsPort.data(), kPlainToTlsPort.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      return Io::kClosed;
    }
    tls_started_ = true;
  }
  const TlsProgress progress = tls_->handshake();
  switch (progress.status) {
    case TlsProgress::Status::kDone:
      enter(Stage::kReading, now, kRequestHeadTimeout);
      return Io::kDone;
    case TlsProgress::Status::kWouldBlock:
      return Io::kWouldBlock;
    default:
      return Io::kClosed;
  }
}

Connection::Io Connection::receive(Clock::time_point now) {
  if (received_.size() >= kMaxRequestHead) return Io::kDone;  // the parser says too large
  // Read into the loop's scratch buffer and keep only what came: a slow client's few bytes
  // cost a few bytes, not a whole head's worth.
  thread_local char scratch[kMaxRequestHead];
  const std::size_t room = kMaxRequestHead - received_.size();
  std::size_t got = 0;
  Io io = Io::kDone;
  if (tls_) {
    const TlsProgress progress = tls_->read(scratch, room);
    if (progress.status == TlsProgress::Status::kDone) {
      got = progress.bytes;
    } else {
      io = progress.status == TlsProgress::Status::kWouldBlock ? Io::kWouldBlock : Io::kClosed;
    }
  } else {
    const ssize_t count = recv(fd_.get(), scratch, room, MSG_DONTWAIT);
    if (count > 0) {
      got = static_cast<std::size_t>(count);
    } else if (count == 0) {
      io = Io::kClosed;
    } else {
      io = errno == EAGAIN || errno == EINTR ? Io::kWouldBlock : Io::kClosed;
    }
  }
  // The first byte of a request on a kept-alive connection starts its head's deadline.
  if (got > 0 && received_.empty() && requests_served_ > 0) {
    enter(Stage::kReading, now, kRequestHeadTimeout);
  }
  received_.append(scratch, got);
  return io;
}

ParsedHead Connection::parse() {
  ParsedHead parsed = parse_request_head(received_, scanned_);
  scanned_ = parsed.scanned;
  return parsed;
}

void Connection::consume(std::size_t length) {
  received_.erase(0, length);
  scanned_ = 0;
}

void Connection::await(Stage stage, Request request, Clock::time_point now) {
  request_ = std::move(request);
  if (retired_) request_.keep_alive = false;
  // Bounded by the server, not by the client: no deadline.
  enter(stage, now, Clock::duration::max());
}

void Connection::retire() {
  retired_ = true;
  request_.keep_alive = false;
}

void Connection::respond(Response response, Clock::time_point now) {
  response_ = std::move(response);
  close_after_ = response_.close;
  sent_ = 0;
  last_sent_ = now;
  response_started_ = now;
  enter(Stage::kWriting, now, kWriteStallTimeout);
}

Connection::Io Connection::send(Clock::time_point now, std::size_t& budget) {
  Io io;
  try {
    io = tls_ ? send_tls(now, budget) : send_plain(now, budget);
  } catch (const std::exception&) {
    return Io::kClosed;  // an exposition that does not inflate: nothing else to send
  }
  if (io == Io::kDone) {
    ++requests_served_;
    response_ = Response{};  // lets go of the shared body and the cursor's window
    enter(Stage::kReading, now, received_.empty() ? kKeepAliveTimeout : kRequestHeadTimeout);
  }
  return io;
}

std::string_view Connection::unsent_body(std::size_t max) {
  if (response_.exposition) return response_.exposition->peek(max);
  if (!response_.body) return {};
  const std::size_t head_size = response_.head.size();
  return std::string_view(*response_.body)
      .substr(sent_ > head_size ? sent_ - head_size : 0)
      .substr(0, max);
}

void Connection::sent(std::size_t count, Clock::time_point now, std::size_t& budget) {
  const std::size_t head_size = response_.head.size();
  const std::size_t into_head = sent_ < head_size ? std::min(count, head_size - sent_) : 0;
  if (response_.exposition) response_.exposition->consume(count - into_head);
  sent_ += count;
  budget -= std::min(budget, count);
  last_sent_ = now;
  deadline_ = now + kWriteStallTimeout;  // progress: the client reads
}

Connection::Io Connection::send_plain(Clock::time_point now, std::size_t& budget) {
  const std::string& head = response_.head;
  while (true) {
    if (budget == 0) return done_sending() ? Io::kDone : Io::kYield;
    iovec parts[2];
    int count = 0;
    std::size_t offered = 0;
    if (sent_ < head.size()) {
      offered = std::min(head.size() - sent_, budget);
      parts[count++] = {const_cast<char*>(head.data() + sent_), offered};
    }
    const std::string_view body =
        offered < budget ? unsent_body(budget - offered) : std::string_view();
    if (!body.empty()) parts[count++] = {const_cast<char*>(body.data()), body.size()};
    if (count == 0) return Io::kDone;
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = static_cast<std::size_t>(count);
    const ssize_t written = sendmsg(fd_.get(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN ? Io::kWouldBlock : Io::kClosed;
    }
    sent(static_cast<std::size_t>(written), now, budget);
  }
}

Connection::Io Connection::send_tls(Clock::time_point now, std::size_t& budget) {
  const std::string& head = response_.head;
  while (true) {
    if (budget == 0) return done_sending() ? Io::kDone : Io::kYield;
    // Always the same length from the same place: OpenSSL wants a write that would have
    // blocked repeated with at least the bytes it was first offered (and peek() gives
    // the same bytes again until they are consumed).
    const std::string_view next =
        sent_ < head.size() ? std::string_view(head).substr(sent_) : unsent_body(kTlsWriteChunk);
    if (next.empty()) return Io::kDone;
    const TlsProgress progress = tls_->write(next.data(), std::min(next.size(), kTlsWriteChunk));
    if (progress.status == TlsProgress::Status::kWouldBlock) return Io::kWouldBlock;
    if (progress.status != TlsProgress::Status::kDone) return Io::kClosed;
    sent(progress.bytes, now, budget);
  }
}

bool Connection::done_sending() const {
  if (sent_ < response_.head.size()) return false;
  if (response_.exposition) return response_.exposition->done();
  const std::size_t body_size = response_.body ? response_.body->size() : 0;
  return sent_ >= response_.head.size() + body_size;
}

void Connection::shut_down() {
  if (tls_ && stage_ != Stage::kHandshake) tls_->shutdown();
}

void Connection::discard_unsent() {
  const linger reset{1, 0};
  // Failing, the close is graceful: the send queue is still bounded by SO_SNDBUF.
  [[maybe_unused]] const int result =
      setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
}

}  // namespace execmond::http

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

}  // namespace

Connection::Connection(FileDescriptor fd, std::uint64_t id,
                       const std::shared_ptr<const TlsContext>& tls, Clock::time_point now)
    : fd_(std::move(fd)), id_(id) {
  if (tls) {
    tls_ = std::make_unique<TlsSession>(tls, fd_.get());
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
      // Not TLS at all, most likely http:// by mistake: say so, in plain text.
      ::send(fd_.get(), kPlainToTlsPort.data(), kPlainToTlsPort.size(),
             MSG_NOSIGNAL | MSG_DONTWAIT);
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

void Connection::consume(std::size_t length) { received_.erase(0, length); }

void Connection::await(Stage stage, Request request, Clock::time_point now) {
  request_ = std::move(request);
  // Bounded by the server, not by the client: no deadline.
  enter(stage, now, Clock::duration::max());
}

void Connection::respond(Response response, Clock::time_point now) {
  response_ = std::move(response);
  sent_ = 0;
  last_sent_ = now;
  enter(Stage::kWriting, now, kWriteStallTimeout);
}

Connection::Io Connection::send(Clock::time_point now) {
  Io io;
  try {
    io = tls_ ? send_tls(now) : send_plain(now);
  } catch (const std::exception&) {
    return Io::kClosed;  // an exposition that does not inflate: nothing else to send
  }
  if (io == Io::kDone) {
    ++requests_served_;
    response_.body.reset();
    response_.exposition.reset();
    enter(Stage::kReading, now, received_.empty() ? kKeepAliveTimeout : kRequestHeadTimeout);
  }
  return io;
}

std::string_view Connection::unsent_body() {
  if (response_.exposition) return response_.exposition->peek();
  if (!response_.body) return {};
  const std::size_t head_size = response_.head.size();
  return std::string_view(*response_.body).substr(sent_ > head_size ? sent_ - head_size : 0);
}

void Connection::sent(std::size_t count, Clock::time_point now) {
  const std::size_t head_size = response_.head.size();
  const std::size_t into_head = sent_ < head_size ? std::min(count, head_size - sent_) : 0;
  if (response_.exposition) response_.exposition->consume(count - into_head);
  sent_ += count;
  last_sent_ = now;
  deadline_ = now + kWriteStallTimeout;  // progress: the client reads
}

Connection::Io Connection::send_plain(Clock::time_point now) {
  const std::string& head = response_.head;
  while (true) {
    iovec parts[2];
    int count = 0;
    if (sent_ < head.size()) {
      parts[count++] = {const_cast<char*>(head.data() + sent_), head.size() - sent_};
    }
    const std::string_view body = unsent_body();
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
    sent(static_cast<std::size_t>(written), now);
  }
}

Connection::Io Connection::send_tls(Clock::time_point now) {
  const std::string& head = response_.head;
  while (true) {
    const std::string_view next =
        sent_ < head.size() ? std::string_view(head).substr(sent_) : unsent_body();
    if (next.empty()) return Io::kDone;
    const TlsProgress progress =
        tls_->write(next.data(), std::min<std::size_t>(next.size(), 1 << 20));
    if (progress.status == TlsProgress::Status::kWouldBlock) return Io::kWouldBlock;
    if (progress.status != TlsProgress::Status::kDone) return Io::kClosed;
    sent(progress.bytes, now);
  }
}

void Connection::shut_down() {
  if (tls_ && stage_ != Stage::kHandshake) tls_->shutdown();
}

}  // namespace execmond::http

// SPDX-License-Identifier: Apache-2.0
#include "http/metrics_server.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <future>
#include <stdexcept>

#include "http/descriptor_budget.h"
#include "http/limits.h"

namespace execmond::http {
namespace {

constexpr std::uint64_t kListenerTag = 0;
constexpr std::uint64_t kWakeTag = 1;

std::runtime_error system_error(const char* what) {
  return std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

void watch(int epoll, int fd, std::uint32_t events, std::uint64_t tag) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = tag;
  if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) throw system_error("epoll_ctl");
}

// The listening socket out of the loop's sight. It cannot fail for a socket that is
// watched; if it does, the loop is not what it believes, which is fatal.
void unwatch(int epoll, int fd) {
  if (epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr) != 0) throw system_error("epoll_ctl");
}

// A test knob, as EXECMOND_INJECT_READER_FAULT_AFTER is the reader's: the event loop
// fails after handling this many requests, so that the tests can prove the process then
// exits instead of staying "healthy" with nobody able to scrape it. 0 or unset: never.
std::uint64_t injected_fault_after() {
  const char* value = std::getenv("EXECMOND_INJECT_SERVER_FAULT_AFTER");
  return value ? std::strtoull(value, nullptr, 10) : 0;
}

}  // namespace

MetricsServer::MetricsServer(const ListenAddress& address,
                             std::shared_ptr<const EndpointSecurity> security)
    : capacity_(connection_capacity(descriptor_limit().soft, open_descriptors())),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      failed_event_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      listener_(listen_on(address)),
      address_(address),
      port_(bound_port(listener_.get())),
      handshakes_(kHandshakeRate, kMaxThrottledClients),
      injected_fault_after_(injected_fault_after()),
      endpoint_metrics_(std::make_shared<EndpointMetrics>(capacity_)),
      renderer_([this] { wake(); }, endpoint_metrics_),
      authenticator_([this] { wake(); }),
      certificate_watcher_(
          [this](std::shared_ptr<const EndpointSecurity> base,
                 std::shared_ptr<const EndpointSecurity> next) {
            post_async([this, base = std::move(base), next = std::move(next)] {
              if (security_ == base) install(next);  // a reload came first: it wins
            });
          },
          kCertificateCheckPeriod) {
  if (!epoll_) throw system_error("epoll_create1");
  if (!wake_fd_ || !failed_event_) throw system_error("eventfd");
  // A TLS write to a client that went away must not kill the daemon (plain writes use
  // MSG_NOSIGNAL; OpenSSL's socket writes cannot).
  if (std::signal(SIGPIPE, SIG_IGN) == SIG_ERR) throw system_error("ignoring SIGPIPE");
  watch(epoll_.get(), listener_.get(), EPOLLIN, kListenerTag);
  watch(epoll_.get(), wake_fd_.get(), EPOLLIN, kWakeTag);
  install(std::move(security));
  thread_ = std::thread([this] { run(); });
}

MetricsServer::~MetricsServer() {
  stopping_ = true;
  wake();
  thread_.join();
}

void MetricsServer::add_collector(std::shared_ptr<const Collector> collector) {
  renderer_.add(std::move(collector));
}

void MetricsServer::remove_collector(const std::shared_ptr<const Collector>& collector) {
  renderer_.remove(collector);
}

void MetricsServer::watch_listener() {
  watch(epoll_.get(), listener_.get(), EPOLLIN, kListenerTag);
  listener_paused_ = false;
}

void MetricsServer::unwatch_listener() {
  if (!listener_paused_ && listener_) unwatch(epoll_.get(), listener_.get());
  listener_paused_ = true;
}

void MetricsServer::post(std::function<void()> command) {
  // Applied by the loop before this returns, so that the caller's next connection sees it.
  auto applied = std::make_shared<std::promise<void>>();
  std::future<void> done = applied->get_future();
  post_async([command = std::move(command), applied] {
    command();
    applied->set_value();
  });
  // A loop that has ended runs nothing more: say so at once instead of waiting.
  while (done.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    if (loop_ended_.load()) {
      spdlog::error("/metrics: the server has stopped: a change was not applied");
      return;
    }
  }
}

void MetricsServer::post_async(std::function<void()> command) {
  {
    std::lock_guard lock(commands_mutex_);
    commands_.push_back(std::move(command));
  }
  wake();
}

void MetricsServer::wake() {
  const std::uint64_t one = 1;
  // Only fails when the counter is saturated, which means the loop is awake anyway.
  [[maybe_unused]] const ssize_t written = ::write(wake_fd_.get(), &one, sizeof one);
}

std::string MetricsServer::failure() const {
  std::lock_guard lock(failure_mutex_);
  return failure_;
}

void MetricsServer::fail(const std::string& why) {
  {
    std::lock_guard lock(failure_mutex_);
    if (!failure_.empty()) return;
    failure_ = why;
  }
  spdlog::critical("/metrics: the server's event loop failed: {}", why);
  const std::uint64_t one = 1;
  if (::write(failed_event_.get(), &one, sizeof one) != sizeof one) {
    spdlog::critical("/metrics: cannot report the failure: {}", std::strerror(errno));
  }
}

void MetricsServer::run() {
  try {
    loop();
  } catch (const std::exception& error) {
    fail(error.what());
  }
  loop_ended_ = true;
  for (auto& [id, connection] : connections_) connection->shut_down();
  connections_.clear();
}

void MetricsServer::loop() {
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  const int resolution_ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(kDeadlineResolution).count());
  Clock::time_point next_sweep = Clock::now() + kDeadlineResolution;
  while (!stopping_) {
    // Work left over from the last turn: look at the sockets, but do not sleep.
    const int count =
        epoll_wait(epoll_.get(), events, kMaxEvents, runnable_.empty() ? resolution_ms : 0);
    if (count < 0) {
      if (errno == EINTR) continue;
      throw system_error("epoll_wait");
    }
    const Clock::time_point now = Clock::now();
    handshakes_this_turn_ = 0;
    for (int i = 0; i < count; ++i) {
      const std::uint64_t tag = events[i].data.u64;
      if (tag == kListenerTag) {
        accept_connections(now);
      } else if (tag == kWakeTag) {
        on_wake(now);
      } else if (const auto found = connections_.find(tag); found != connections_.end()) {
        // One in the queue has its turn there.
        if (!found->second->queued) drive(*found->second, now);
      }
    }
    // The oldest of the queue, each once: a turn costs the same with 1 or 500 greedy
    // clients, so a connection the sockets woke waits for a few of them, never all.
    for (std::size_t i = 0, due = runnable_.size(); i < std::min(due, kDeferredPerTurn); ++i) {
      const auto found = connections_.find(runnable_.front());
      runnable_.pop_front();
      if (found == connections_.end()) continue;
      found->second->queued = false;
      drive(*found->second, now);
    }
    if (now >= next_sweep) {
      sweep(now);
      next_sweep = now + kDeadlineResolution;
    }
  }
}

// Frees a slot by closing the connection that matters least; false if all are being served.
bool MetricsServer::make_room(Clock::time_point now) {
  std::vector<Occupant> occupants;
  std::vector<std::uint64_t> ids;
  occupants.reserve(connections_.size());
  ids.reserve(connections_.size());
  for (const auto& [id, connection] : connections_) {
    occupants.push_back(connection->occupant(now));
    ids.push_back(id);
  }
  const auto victim = choose_eviction(occupants);
  if (!victim) return false;
  static constexpr EndpointMetrics::Drop kDrops[] = {EndpointMetrics::Drop::kEvictedIdle,
                                                     EndpointMetrics::Drop::kEvictedIncomplete,
                                                     EndpointMetrics::Drop::kEvictedStalled};
  const auto drop = kDrops[static_cast<int>(occupants[*victim].stage)];
  spdlog::debug("/metrics: {} connections: closing the longest {} one to make room",
                connections_.size(), EndpointMetrics::kDropNames[static_cast<int>(drop)]);
  close(ids[*victim], drop);
  return true;
}

// Whether `client` may have the TLS handshake whose ClientHello has just arrived: each
// costs a signature, so each address gets only so many.
bool MetricsServer::admit_handshake(const ClientAddress& client) {
  if (handshakes_.take(client.key, Clock::now())) return true;
  spdlog::debug("/metrics: {} started too many TLS handshakes: refusing one", client.text);
  endpoint_metrics_->count_drop(EndpointMetrics::Drop::kThrottled);
  return false;
}

void MetricsServer::accept_connections(Clock::time_point now) {
  // Bounded per wake-up, so that a connection storm cannot starve the scrapes in progress.
  for (int accepted = 0; accepted < 64 && listener_; ++accepted) {
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof peer;
    FileDescriptor fd(accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &peer_length,
                              SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && make_room(now)) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors with nothing to evict: stop accepting until the next sweep.
        unwatch_listener();
      }
      return;
    }
    const ClientAddress client = ClientAddress::from(peer);
    if (connections_.size() >= capacity_ && !make_room(now)) {
      spdlog::debug("/metrics: {} connections all being served: refusing one", connections_.size());
      endpoint_metrics_->count_drop(EndpointMetrics::Drop::kRefused);
      continue;
    }
    // A client that reads slowly makes the kernel hold at most this much for it.
    if (setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &kSocketSendBuffer, sizeof kSocketSendBuffer) !=
        0) {
      spdlog::warn("/metrics: cannot bound a connection's send buffer (SO_SNDBUF): {}",
                   std::strerror(errno));
    }
    const std::uint64_t id = next_id_++;
    std::unique_ptr<Connection> connection;
    try {
      connection =
          std::make_unique<Connection>(std::move(fd), id, client, security_->tls, generation_, now,
                                       [this, client] { return admit_handshake(client); });
    } catch (const std::runtime_error& error) {
      spdlog::warn("/metrics: {}", error.what());  // a TLS session OpenSSL would not start
      continue;
    }
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.u64 = id;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, connection->fd(), &event) != 0) {
      spdlog::warn("/metrics: cannot watch a connection: {}", std::strerror(errno));
      continue;
    }
    Connection& added = *connection;
    connections_.emplace(id, std::move(connection));
    endpoint_metrics_->set_connections(connections_.size());
    drive(added, now);
  }
}

// Queues the connection for the next turn: it had more to do than one turn allows.
void MetricsServer::defer(Connection& connection) {
  if (connection.queued) return;
  connection.queued = true;
  runnable_.push_back(connection.id());
}

// Moves the connection on as far as one turn's share allows without waiting.
void MetricsServer::drive(Connection& connection, Clock::time_point now) {
  std::size_t requests = kRequestsPerTurn;
  std::size_t bytes = kBytesPerTurn;
  while (true) {
    switch (connection.stage()) {
      case Connection::Stage::kHandshake: {
        if (handshakes_this_turn_ >= kHandshakesPerTurn) return defer(connection);
        ++handshakes_this_turn_;
        const Connection::Io io = connection.handshake(now);
        if (io == Connection::Io::kClosed) return close(connection.id());
        if (io == Connection::Io::kWouldBlock) return;
        break;
      }
      case Connection::Stage::kReading: {
        const ParsedHead parsed = connection.parse();
        if (parsed.status != ParsedHead::Status::kIncomplete) {
          if (requests == 0) return defer(connection);  // the rest of a pipeline: next turn
          --requests;
          handle_request(connection, parsed, now);
          break;
        }
        const Connection::Io io = connection.receive(now);
        if (io == Connection::Io::kClosed) return close(connection.id());
        if (io == Connection::Io::kWouldBlock) return;
        break;
      }
      case Connection::Stage::kWriting: {
        const Connection::Io io = connection.send(now, bytes);
        if (io == Connection::Io::kClosed) return close(connection.id());
        if (io == Connection::Io::kWouldBlock) return;
        if (io == Connection::Io::kYield) return defer(connection);
        if (connection.close_after_response() || connection.retired()) {
          return close(connection.id(), connection.retired()
                                            ? std::optional(EndpointMetrics::Drop::kRetired)
                                            : std::nullopt);
        }
        break;
      }
      case Connection::Stage::kAuthorizing:
      case Connection::Stage::kRendering:
        return;  // on_wake() moves it on
    }
  }
}

void MetricsServer::sweep(Clock::time_point now) {
  std::vector<std::uint64_t> expired;
  for (const auto& [id, connection] : connections_) {
    if (now >= connection->deadline()) expired.push_back(id);
  }
  for (const std::uint64_t id : expired) close(id, EndpointMetrics::Drop::kTimeout);
  enforce_response_budget(now);
  handshakes_.prune(now);
  authenticator_.prune(now);
  if (listener_paused_ && listener_) watch_listener();
}

void MetricsServer::close(std::uint64_t id, std::optional<EndpointMetrics::Drop> reason) {
  const auto found = connections_.find(id);
  if (found == connections_.end()) return;
  Connection& connection = *found->second;
  const bool cut_off = reason == EndpointMetrics::Drop::kSlowSender ||
                       reason == EndpointMetrics::Drop::kEvictedStalled ||
                       (reason == EndpointMetrics::Drop::kTimeout &&
                        connection.stage() == Connection::Stage::kWriting);
  if (cut_off) {
    connection.discard_unsent();
  } else if (connection.stage() == Connection::Stage::kWriting ||
             connection.stage() == Connection::Stage::kReading) {
    connection.shut_down();
  }
  if (reason) endpoint_metrics_->count_drop(*reason);
  connections_.erase(found);  // closing the descriptor takes it out of epoll
  endpoint_metrics_->set_connections(connections_.size());
}

}  // namespace execmond::http

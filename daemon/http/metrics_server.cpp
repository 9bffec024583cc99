// SPDX-License-Identifier: Apache-2.0
#include "http/metrics_server.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <future>
#include <stdexcept>

#include "http/limits.h"

namespace execmond::http {
namespace {

constexpr std::uint64_t kListenerTag = 0;
constexpr std::uint64_t kWakeTag = 1;
// Descriptors kept for everything else the daemon holds (BPF maps and programs, logs).
constexpr rlim_t kReservedDescriptors = 64;

std::size_t connection_capacity() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return kMaxConnections;
  }
  if (limit.rlim_cur <= 2 * kReservedDescriptors) return kReservedDescriptors;
  return std::min<std::size_t>(kMaxConnections, limit.rlim_cur - kReservedDescriptors);
}

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

void watch(int epoll, int fd, std::uint32_t events, std::uint64_t tag) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = tag;
  if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) fail("epoll_ctl");
}

}  // namespace

MetricsServer::MetricsServer(const ListenAddress& address,
                             std::shared_ptr<const EndpointSecurity> security)
    : capacity_(connection_capacity()),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      listener_(listen_on(address)),
      port_(bound_port(listener_.get())),
      security_(std::move(security)),
      endpoint_metrics_(std::make_shared<EndpointMetrics>(capacity_)),
      renderer_([this] { wake(); }, endpoint_metrics_),
      authenticator_([this] { wake(); }) {
  if (!epoll_) fail("epoll_create1");
  if (!wake_fd_) fail("eventfd");
  // A TLS write to a client that went away must not kill the daemon (plain writes use
  // MSG_NOSIGNAL; OpenSSL's socket writes cannot).
  std::signal(SIGPIPE, SIG_IGN);
  watch(epoll_.get(), listener_.get(), EPOLLIN, kListenerTag);
  watch(epoll_.get(), wake_fd_.get(), EPOLLIN, kWakeTag);
  spdlog::debug("/metrics: at most {} connections, {}", capacity_, security_->describe());
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

void MetricsServer::reload(const std::optional<std::string>& web_config_file) {
  reload(load_endpoint_security(web_config_file));
}

void MetricsServer::reload(std::shared_ptr<const EndpointSecurity> security) {
  spdlog::info("/metrics: web configuration reloaded: {}", security->describe());
  post([this, security] {
    security_ = security;
    authenticator_.forget();
  });
}

void MetricsServer::rebind(const ListenAddress& address) {
  auto listener = std::make_shared<FileDescriptor>(listen_on(address));
  port_ = bound_port(listener->get());
  post([this, listener] {
    if (!listener_paused_) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listener_.get(), nullptr);
    listener_ = std::move(*listener);
    listener_paused_ = false;
    watch(epoll_.get(), listener_.get(), EPOLLIN, kListenerTag);
  });
}

void MetricsServer::post(std::function<void()> command) {
  // Applied by the loop before this returns, so that the caller's next connection sees it.
  auto applied = std::make_shared<std::promise<void>>();
  std::future<void> done = applied->get_future();
  {
    std::lock_guard lock(commands_mutex_);
    commands_.push_back([command = std::move(command), applied] {
      command();
      applied->set_value();
    });
  }
  wake();
  if (done.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    spdlog::warn("/metrics: the server did not apply a change within 5 s");
  }
}

void MetricsServer::wake() {
  const std::uint64_t one = 1;
  // Only fails when the counter is saturated, which means the loop is awake anyway.
  [[maybe_unused]] const ssize_t written = ::write(wake_fd_.get(), &one, sizeof one);
}

void MetricsServer::run() {
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  const int timeout_ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(kDeadlineResolution).count());
  Clock::time_point next_sweep = Clock::now() + kDeadlineResolution;
  while (!stopping_) {
    const int count = epoll_wait(epoll_.get(), events, kMaxEvents, timeout_ms);
    if (count < 0 && errno != EINTR) {
      spdlog::critical("/metrics: epoll_wait failed: {}", std::strerror(errno));
      return;
    }
    const Clock::time_point now = Clock::now();
    try {
      for (int i = 0; i < count; ++i) {
        const std::uint64_t tag = events[i].data.u64;
        if (tag == kListenerTag) {
          accept_connections(now);
        } else if (tag == kWakeTag) {
          on_wake(now);
        } else if (const auto found = connections_.find(tag); found != connections_.end()) {
          drive(*found->second, now);
        }
      }
      if (now >= next_sweep) {
        sweep(now);
        next_sweep = now + kDeadlineResolution;
      }
    } catch (const std::exception& error) {
      // Out of memory, most likely: the other connections are still worth serving.
      spdlog::error("/metrics: {}", error.what());
    }
  }
  for (auto& [id, connection] : connections_) connection->shut_down();
  connections_.clear();
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
  static constexpr const char* kStageNames[] = {"idle", "incomplete", "stalled"};
  static constexpr EndpointMetrics::Drop kDrops[] = {EndpointMetrics::Drop::kEvictedIdle,
                                                     EndpointMetrics::Drop::kEvictedIncomplete,
                                                     EndpointMetrics::Drop::kEvictedStalled};
  endpoint_metrics_->count_drop(kDrops[static_cast<int>(occupants[*victim].stage)]);
  spdlog::debug("/metrics: {} connections: closing the longest {} one to make room",
                connections_.size(), kStageNames[static_cast<int>(occupants[*victim].stage)]);
  close(ids[*victim]);
  return true;
}

void MetricsServer::accept_connections(Clock::time_point now) {
  // Bounded per wake-up, so that a connection storm cannot starve the scrapes in progress.
  for (int accepted = 0; accepted < 64; ++accepted) {
    FileDescriptor fd(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && make_room(now)) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors with nothing to evict: stop accepting until the next sweep.
        epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listener_.get(), nullptr);
        listener_paused_ = true;
      }
      return;
    }
    if (connections_.size() >= capacity_ && !make_room(now)) {
      spdlog::debug("/metrics: {} connections all being served: refusing one", connections_.size());
      endpoint_metrics_->count_drop(EndpointMetrics::Drop::kRefused);
      continue;  // closed by its destructor
    }
    const std::uint64_t id = next_id_++;
    std::unique_ptr<Connection> connection;
    try {
      connection = std::make_unique<Connection>(std::move(fd), id, security_->tls, now);
    } catch (const std::exception& error) {
      spdlog::warn("/metrics: {}", error.what());
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

// Moves the connection on as far as it can go without waiting.
void MetricsServer::drive(Connection& connection, Clock::time_point now) {
  while (true) {
    switch (connection.stage()) {
      case Connection::Stage::kHandshake: {
        const Connection::Io io = connection.handshake(now);
        if (io == Connection::Io::kClosed) return close(connection.id());
        if (io == Connection::Io::kWouldBlock) return;
        break;
      }
      case Connection::Stage::kReading: {
        const ParsedHead parsed = parse_request_head(connection.received());
        if (parsed.status != ParsedHead::Status::kIncomplete) {
          handle_request(connection, parsed, now);
          break;
        }
        const Connection::Io io = connection.receive(now);
        if (io == Connection::Io::kClosed) return close(connection.id());
        if (io == Connection::Io::kWouldBlock) return;
        break;
      }
      case Connection::Stage::kWriting: {
        const Connection::Io io = connection.send(now);
        if (io == Connection::Io::kClosed) return close(connection.id());
        if (io == Connection::Io::kWouldBlock) return;
        if (connection.close_after_response()) return close(connection.id());
        break;
      }
      case Connection::Stage::kAuthorizing:
      case Connection::Stage::kRendering:
        return;  // on_wake() moves it on
    }
  }
}

void MetricsServer::handle_request(Connection& connection, const ParsedHead& parsed,
                                   Clock::time_point now) {
  using Status = ParsedHead::Status;
  switch (parsed.status) {
    case Status::kBadRequest:
      return respond(connection, make_status_response(400, false), now);
    case Status::kTooLarge:
      return respond(connection, make_status_response(431, false), now);
    case Status::kBodyRefused:
      return respond(connection, make_status_response(413, false), now);
    case Status::kVersionUnsupported:
      return respond(connection, make_status_response(505, false), now);
    case Status::kIncomplete:
    case Status::kComplete:
      break;
  }
  connection.consume(parsed.length);
  authorize(connection, parsed.request, now);
}

void MetricsServer::authorize(Connection& connection, Request request, Clock::time_point now) {
  if (security_->users.empty()) return route(connection, std::move(request), now);
  const auto credentials =
      request.authorization ? decode_basic_authorization(*request.authorization) : std::nullopt;
  if (!credentials) return deny(connection, request, now);
  switch (authenticator_.check(security_->users, *credentials, connection.id())) {
    case Authenticator::Verdict::kAllowed:
      return route(connection, std::move(request), now);
    case Authenticator::Verdict::kDenied:
      return deny(connection, request, now);
    case Authenticator::Verdict::kPending:
      return connection.await(Connection::Stage::kAuthorizing, std::move(request), now);
    case Authenticator::Verdict::kBusy:
      return respond(connection, make_status_response(503, false, false, "Retry-After: 1\r\n"),
                     now);
  }
}

void MetricsServer::deny(Connection& connection, const Request& request, Clock::time_point now) {
  respond(connection,
          make_status_response(401, request.keep_alive, request.method == Method::kHead,
                               "WWW-Authenticate: Basic realm=\"execmond\", charset=\"UTF-8\"\r\n"),
          now);
}

void MetricsServer::route(Connection& connection, Request request, Clock::time_point now) {
  const bool known = request.path == "/" || request.path == "/metrics";
  const bool head_only = request.method == Method::kHead;
  if (!known)
    return respond(connection, make_status_response(404, request.keep_alive, head_only), now);
  if (request.method == Method::kOther) {
    return respond(connection,
                   make_status_response(405, request.keep_alive, false, "Allow: GET, HEAD\r\n"),
                   now);
  }
  if (request.path == "/") {
    ResponseOptions options;
    options.content_type = "text/html; charset=utf-8";
    options.keep_alive = request.keep_alive;
    options.head_only = head_only;
    return respond(connection, make_response(options, landing_page()), now);
  }
  // Until the programs are attached, numbers would be zeros that look like a quiet host.
  if (!ready_.load(std::memory_order_acquire)) {
    return respond(connection,
                   make_status_response(503, request.keep_alive, head_only, "Retry-After: 1\r\n"),
                   now);
  }
  connection.awaited_cycle = renderer_.request(negotiate_format(request.accept));
  connection.await(Connection::Stage::kRendering, std::move(request), now);
}

void MetricsServer::on_wake(Clock::time_point now) {
  std::uint64_t count;
  [[maybe_unused]] const ssize_t read_bytes = ::read(wake_fd_.get(), &count, sizeof count);
  std::vector<std::function<void()>> commands;
  {
    std::lock_guard lock(commands_mutex_);
    commands.swap(commands_);
  }
  for (auto& command : commands) command();

  for (const Authenticator::Outcome& outcome : authenticator_.take_outcomes()) {
    const auto found = connections_.find(outcome.ticket);
    if (found == connections_.end()) continue;  // gone meanwhile
    Connection& connection = *found->second;
    if (connection.stage() != Connection::Stage::kAuthorizing) continue;
    if (outcome.allowed) {
      route(connection, connection.request(), now);
    } else {
      deny(connection, connection.request(), now);
    }
    drive(connection, now);
  }
  serve_exposition(now);
}

// Every scrape waiting for a render that has finished gets its bytes.
void MetricsServer::serve_exposition(Clock::time_point now) {
  const std::shared_ptr<const Exposition> exposition = renderer_.latest();
  if (!exposition) return;
  if (exposition->cycle() != last_counted_render_) {
    endpoint_metrics_->count_render();
    last_counted_render_ = exposition->cycle();
  }
  std::vector<Connection*> ready;
  for (auto& [id, connection] : connections_) {
    if (connection->stage() == Connection::Stage::kRendering &&
        connection->awaited_cycle <= exposition->cycle()) {
      ready.push_back(connection.get());
    }
  }
  for (Connection* connection : ready) {
    const Request& request = connection->request();
    const ExpositionFormat format = negotiate_format(request.accept);
    if (exposition->failed()) {
      respond(*connection, make_status_response(500, false), now);
    } else if (!exposition->has(format)) {
      // A later render than the one it waited for, made for other scrapes' formats.
      connection->awaited_cycle = renderer_.request(format);
      continue;
    } else {
      ResponseOptions options;
      options.content_type = content_type(format);
      options.keep_alive = request.keep_alive;
      options.head_only = request.method == Method::kHead;
      options.extra_headers = request.accepts_gzip
                                  ? "Content-Encoding: gzip\r\nVary: Accept, Accept-Encoding\r\n"
                                  : "Vary: Accept, Accept-Encoding\r\n";
      // Every scrape of this render reads the same stored bytes through its own cursor.
      respond(*connection,
              make_response(options, std::make_unique<ExpositionCursor>(exposition, format,
                                                                        request.accepts_gzip)),
              now);
    }
    drive(*connection, now);
  }
  // The connections hold what they still send; the renderer need not keep it.
  renderer_.release(exposition->cycle());
}

void MetricsServer::sweep(Clock::time_point now) {
  std::vector<std::uint64_t> expired;
  for (const auto& [id, connection] : connections_) {
    if (now >= connection->deadline()) expired.push_back(id);
  }
  for (const std::uint64_t id : expired) {
    endpoint_metrics_->count_drop(EndpointMetrics::Drop::kTimeout);
    close(id);
  }
  if (listener_paused_) {
    watch(epoll_.get(), listener_.get(), EPOLLIN, kListenerTag);
    listener_paused_ = false;
  }
}

void MetricsServer::close(std::uint64_t id) {
  const auto found = connections_.find(id);
  if (found == connections_.end()) return;
  if (found->second->stage() == Connection::Stage::kWriting ||
      found->second->stage() == Connection::Stage::kReading) {
    found->second->shut_down();
  }
  connections_.erase(found);  // closing the descriptor takes it out of epoll
  endpoint_metrics_->set_connections(connections_.size());
}

void MetricsServer::respond(Connection& connection, Response response, Clock::time_point now) {
  endpoint_metrics_->count_response(response.status);
  connection.respond(std::move(response), now);
}

}  // namespace execmond::http

// SPDX-License-Identifier: Apache-2.0
// execmond's /metrics endpoint: one event-loop thread owns every connection, so an idle,
// slow or half-open client costs a descriptor and a few KB, never a thread, and cannot
// delay anyone else's scrape. Rendering and bcrypt run on threads of their own.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config/units.h"
#include "http/basic_auth.h"
#include "http/connection.h"
#include "http/endpoint_metrics.h"
#include "http/endpoint_security.h"
#include "http/exposition_renderer.h"
#include "http/listener.h"
#include "metrics/metric_writer.h"
#include "service/file_descriptor.h"

namespace execmond::http {

class MetricsServer {
 public:
  // Binds `address` (a ListenError if it cannot) and starts serving.
  MetricsServer(const ListenAddress& address, std::shared_ptr<const EndpointSecurity> security);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  void add_collector(std::shared_ptr<const Collector> collector);
  // Returns once no scrape reads `collector` any more.
  void remove_collector(const std::shared_ptr<const Collector>& collector);

  // /metrics answers 503 until then: the server binds (and reports a port in use) before
  // the programs are attached, but a scrape before they count would read as zeros.
  void mark_ready() { ready_.store(true, std::memory_order_release); }

  // The port listened on (the kernel's choice for port 0).
  std::uint16_t port() const { return port_.load(); }

  // For SIGHUP, from any thread but the server's; in force when they return.
  // reload: reads the web configuration again (certificates included); new connections
  // and every request after it use it; a ConfigError leaves the old one in force.
  // rebind: listens on a new address, keeping open connections and every count; a
  // ListenError leaves the old address in use.
  void reload(const std::optional<std::string>& web_config_file);
  // The same with a web configuration already loaded (load_endpoint_security).
  void reload(std::shared_ptr<const EndpointSecurity> security);
  void rebind(const ListenAddress& address);

 private:
  void post(std::function<void()> command);
  void wake();
  void run();
  void accept_connections(Clock::time_point now);
  bool make_room(Clock::time_point now);
  void drive(Connection& connection, Clock::time_point now);
  void handle_request(Connection& connection, const ParsedHead& parsed, Clock::time_point now);
  void authorize(Connection& connection, Request request, Clock::time_point now);
  void deny(Connection& connection, const Request& request, Clock::time_point now);
  void route(Connection& connection, Request request, Clock::time_point now);
  void on_wake(Clock::time_point now);
  void serve_exposition(Clock::time_point now);
  void sweep(Clock::time_point now);
  void respond(Connection& connection, Response response, Clock::time_point now);
  void close(std::uint64_t id);

  std::size_t capacity_;
  FileDescriptor epoll_;
  FileDescriptor wake_fd_;
  FileDescriptor listener_;
  bool listener_paused_ = false;
  std::atomic<std::uint16_t> port_{0};

  std::mutex commands_mutex_;
  std::vector<std::function<void()>> commands_;

  // The loop's own.
  std::shared_ptr<const EndpointSecurity> security_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::uint64_t last_counted_render_ = 0;
  std::uint64_t next_id_ = 2;  // 0 and 1 tag the listener and the wake-up descriptor
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ready_{false};

  std::shared_ptr<EndpointMetrics> endpoint_metrics_;
  // Destroyed first: their threads wake the loop through wake_fd_.
  ExpositionRenderer renderer_;
  Authenticator authenticator_;
  std::thread thread_;
};

}  // namespace execmond::http

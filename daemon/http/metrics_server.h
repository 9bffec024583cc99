// SPDX-License-Identifier: Apache-2.0
// execmond's /metrics endpoint: one event-loop thread owns every connection, so an idle,
// slow or half-open client costs a descriptor and a few KB, never a thread, and cannot
// delay anyone else's scrape. Rendering, bcrypt and reading renewed certificates run on
// threads of their own. Every client gets a bounded share of each loop turn, and every
// costly thing a client can ask for has a budget (limits.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config/units.h"
#include "http/authenticator.h"
#include "http/certificate_watcher.h"
#include "http/client_throttle.h"
#include "http/connection.h"
#include "http/endpoint_metrics.h"
#include "http/endpoint_security.h"
#include "http/exposition_renderer.h"
#include "http/listener.h"
#include "http/response_budget.h"
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

  // Sizes the connection table for the descriptors the process holds now (call it once
  // everything else is open); returns the new size.
  std::size_t fit_connection_table();

  // For SIGHUP, from any thread but the server's; in force when they return.
  // reload: reads the web configuration again (certificates included); new connections
  // and every request after it use it; a ConfigError leaves the old one in force. When it
  // changes who may connect (TLS, client CA or policy, users), every connection admitted
  // before ends after its response in flight.
  // rebind: listens on a new address, keeping open connections and every count; a
  // ListenError leaves the old address in use. A new address on the same port as the
  // current one (":9717" to "0.0.0.0:9717", "127.0.0.1:9717" to "0.0.0.0:9717") takes the
  // port over: the old socket closes, the new one binds, the old one is bound again if
  // that fails.
  void reload(const std::optional<std::string>& web_config_file);
  // The same with a web configuration already loaded (load_endpoint_security).
  void reload(std::shared_ptr<const EndpointSecurity> security);
  void rebind(const ListenAddress& address);

  // Readable once the event loop has ended on an error: the process must not go on
  // looking healthy while nobody can scrape it. failure() says why.
  int failure_fd() const { return failed_event_.get(); }
  std::string failure() const;

 private:
  void post(std::function<void()> command);
  void post_async(std::function<void()> command);
  void wake();
  void run();
  void loop();
  void fail(const std::string& why);

  // The loop's own.
  void install(std::shared_ptr<const EndpointSecurity> security);
  void retire_connections();
  void accept_connections(Clock::time_point now);
  bool admit_handshake(const ClientAddress& client);
  bool make_room(Clock::time_point now);
  void drive(Connection& connection, Clock::time_point now);
  void defer(Connection& connection);
  void handle_request(Connection& connection, const ParsedHead& parsed, Clock::time_point now);
  void authorize(Connection& connection, Request request, Clock::time_point now);
  void deny(Connection& connection, const Request& request, Clock::time_point now);
  void route(Connection& connection, Request request, Clock::time_point now);
  void on_wake(Clock::time_point now);
  void serve_exposition(Clock::time_point now);
  // Starts sending `exposition` (or a 500 for a failed render); the caller drives on.
  void answer_with(Connection& connection, const std::shared_ptr<const Exposition>& exposition,
                   Clock::time_point now);
  std::vector<HeldResponse> held_responses(Clock::time_point now,
                                           std::vector<std::uint64_t>* ids = nullptr) const;
  void enforce_response_budget(Clock::time_point now);
  void sweep(Clock::time_point now);
  void respond(Connection& connection, Response response, Clock::time_point now);
  void respond_status(Connection& connection, int status, const Request& request,
                      Clock::time_point now, std::string_view extra_headers = {});
  void close(std::uint64_t id, std::optional<EndpointMetrics::Drop> reason = std::nullopt);
  void swap_listener(const ListenAddress& address);
  // epoll watches the listening socket (again) / no longer.
  void watch_listener();
  void unwatch_listener();

  std::size_t capacity_;
  FileDescriptor epoll_;
  FileDescriptor wake_fd_;
  FileDescriptor failed_event_;
  FileDescriptor listener_;
  ListenAddress address_;
  bool listener_paused_ = false;
  std::atomic<std::uint16_t> port_{0};

  std::mutex commands_mutex_;
  std::vector<std::function<void()>> commands_;
  std::atomic<bool> loop_ended_{false};
  mutable std::mutex failure_mutex_;
  std::string failure_;

  // The loop's own.
  std::shared_ptr<const EndpointSecurity> security_;
  std::uint64_t generation_ = 1;  // of security_: connections admitted under older ones retire
  std::optional<TokenBucket> rate_limit_;
  ClientThrottle handshakes_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::deque<std::uint64_t> runnable_;  // connections with work left from their last turn
  std::size_t handshakes_this_turn_ = 0;
  std::uint64_t last_counted_render_ = 0;
  // The newest render served: the one the response budget never cuts off, and, for
  // kMaxSharedRenderAge, shared with scrapes that arrive while slow clients fill the budget.
  std::uint64_t newest_cycle_ = 0;
  std::size_t newest_size_ = 0;
  std::shared_ptr<const Exposition> shared_render_;
  Clock::time_point shared_render_at_;
  std::size_t held_since_trim_ = 0;  // the most held for clients since memory was trimmed
  std::uint64_t next_id_ = 2;        // 0 and 1 tag the listener and the wake-up descriptor
  std::uint64_t requests_handled_ = 0;
  std::uint64_t injected_fault_after_ = 0;  // EXECMOND_INJECT_SERVER_FAULT_AFTER
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ready_{false};

  std::shared_ptr<EndpointMetrics> endpoint_metrics_;
  // Destroyed first: their threads wake the loop through wake_fd_.
  ExpositionRenderer renderer_;
  Authenticator authenticator_;
  CertificateWatcher certificate_watcher_;
  std::thread thread_;
};

}  // namespace execmond::http

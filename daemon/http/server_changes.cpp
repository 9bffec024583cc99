// SPDX-License-Identifier: Apache-2.0
// What changes while the server runs, applied by its loop: the web configuration (by
// SIGHUP or renewed certificate files), the listening address, the connection table.
#include <spdlog/spdlog.h>

#include <cerrno>
#include <ctime>
#include <memory>
#include <stdexcept>

#include "http/descriptor_budget.h"
#include "http/limits.h"
#include "http/metrics_server.h"

namespace execmond::http {

std::size_t MetricsServer::fit_connection_table() {
  const DescriptorLimit limit = descriptor_limit();
  const std::size_t in_use = open_descriptors();
  const std::size_t capacity = connection_capacity(limit.soft, in_use);
  post([this, capacity] {
    capacity_ = capacity;
    endpoint_metrics_->set_connection_limit(capacity);
  });
  spdlog::info("/metrics: at most {} connections (descriptor limit {}, {} in use)", capacity,
               limit.soft, in_use);
  return capacity;
}

void MetricsServer::reload(const std::optional<std::string>& web_config_file) {
  reload(load_endpoint_security(web_config_file));
}

void MetricsServer::reload(std::shared_ptr<const EndpointSecurity> security) {
  spdlog::info("/metrics: web configuration reloaded: {}", security->describe());
  post([this, security] { install(security); });
}

// The loop's: puts a web configuration in force.
void MetricsServer::install(std::shared_ptr<const EndpointSecurity> security) {
  const bool admission_changed = security_ && security_->admission != security->admission;
  security_ = std::move(security);
  authenticator_.set_users(security_->users);
  if (security_->rate_limit) {
    const double seconds = std::chrono::duration<double>(security_->rate_limit->interval).count();
    rate_limit_.emplace(Rate{1.0 / seconds, static_cast<double>(security_->rate_limit->burst)},
                        Clock::now());
  } else {
    rate_limit_.reset();
  }
  certificate_watcher_.watch(security_);
  const std::time_t expiry = security_->tls ? security_->tls->not_after() : 0;
  endpoint_metrics_->set_certificate_expiry(expiry);
  if (security_->tls) {
    const std::time_t now = std::time(nullptr);
    const auto warning = std::chrono::duration_cast<std::chrono::seconds>(kCertificateWarning);
    if (expiry <= now) {
      spdlog::warn("/metrics: the TLS certificate {} has expired: scrapes that verify it fail",
                   security_->tls->subject());
    } else if (expiry - now < warning.count()) {
      spdlog::warn("/metrics: the TLS certificate {} expires in {} days", security_->tls->subject(),
                   (expiry - now) / 86400);
    }
  }
  if (admission_changed) {
    ++generation_;
    retire_connections();
  }
}

// Who may connect changed: nothing admitted under the old rules gets another request.
void MetricsServer::retire_connections() {
  std::vector<std::uint64_t> now_closed;
  std::size_t after_response = 0;
  for (auto& [id, connection] : connections_) {
    if (connection->admitted_under() == generation_) continue;
    switch (connection->stage()) {
      case Connection::Stage::kHandshake:
      case Connection::Stage::kReading:
        now_closed.push_back(id);
        break;
      default:
        connection->retire();  // after the response in flight
        ++after_response;
    }
  }
  for (const std::uint64_t id : now_closed) close(id, EndpointMetrics::Drop::kRetired);
  spdlog::info(
      "/metrics: who may connect changed: {} connections closed, {} close after their response",
      now_closed.size(), after_response);
}

void MetricsServer::rebind(const ListenAddress& address) {
  FileDescriptor bound;
  try {
    bound = listen_on(address);
  } catch (const ListenError& error) {
    // Our own port on another address of the same family: the old socket must go first.
    if (error.error() != EADDRINUSE || address.port == 0 || address.port != port_.load() ||
        address.ipv6 != address_.ipv6) {
      throw;
    }
    auto failure = std::make_shared<std::optional<ListenError>>();
    post([this, address, failure] {
      try {
        swap_listener(address);
      } catch (const ListenError& swap_error) {
        *failure = swap_error;
      }
    });
    if (*failure) throw **failure;
    return;
  }
  port_ = bound_port(bound.get());
  auto listener = std::make_shared<FileDescriptor>(std::move(bound));
  post([this, listener, address] {
    unwatch_listener();
    listener_ = std::move(*listener);
    address_ = address;
    watch_listener();
  });
}

// The loop's: closes the listening socket and binds `address` on the same port; binds the
// old address again if that fails, and fails the loop only if even that fails.
void MetricsServer::swap_listener(const ListenAddress& address) {
  accept_connections(Clock::now());  // those waiting in the old socket's queue
  unwatch_listener();
  listener_ = FileDescriptor();
  try {
    listener_ = listen_on(address);
    address_ = address;
    spdlog::info("/metrics: took port {} over from the previous address", address.port);
  } catch (const ListenError& error) {
    try {
      listener_ = listen_on(address_);
    } catch (const ListenError& rollback) {
      fail("lost port " + std::to_string(address_.port) +
           " while moving to a new address: " + rollback.what());
      throw ListenError(rollback.what(), rollback.error());
    }
    watch_listener();
    throw;
  }
  watch_listener();
}

}  // namespace execmond::http

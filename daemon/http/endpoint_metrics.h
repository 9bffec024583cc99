// SPDX-License-Identifier: Apache-2.0
// What the endpoint itself does, as metrics: open connections against the limit, the ones
// it had to drop and why, the responses it sent and the renders they shared, the bytes
// held for clients still receiving, and when the served certificate expires. They replace
// prometheus-cpp's exposer_* metrics. Written by the event loop, read by the renderer.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "http/status_codes.h"
#include "metrics/metric_writer.h"

namespace execmond::http {

class EndpointMetrics : public Collector {
 public:
  enum class Drop {
    kEvictedIdle,
    kEvictedIncomplete,
    kEvictedStalled,
    kRefused,
    kTimeout,
    kThrottled,   // an address that started too many TLS handshakes
    kRetired,     // admitted under a web configuration a reload replaced
    kSlowSender,  // held a render beyond the response byte budget
  };
  static constexpr std::size_t kDropReasons = 8;
  static constexpr const char* kDropNames[kDropReasons] = {
      "evicted_idle", "evicted_incomplete", "evicted_stalled", "refused",
      "timeout",      "throttled",          "retired",         "slow_sender"};

  explicit EndpointMetrics(std::size_t connection_limit) : connection_limit_(connection_limit) {}

  void set_connection_limit(std::size_t limit) {
    connection_limit_.store(limit, std::memory_order_relaxed);
  }
  void set_connections(std::size_t count) { connections_.store(count, std::memory_order_relaxed); }
  void count_drop(Drop reason) { increment(drops_[static_cast<std::size_t>(reason)]); }
  void count_response(int status);
  void count_render() { increment(renders_); }
  void count_shared_render() { increment(shared_renders_); }
  void set_response_bytes(std::size_t held, std::size_t budget) {
    response_bytes_.store(held, std::memory_order_relaxed);
    response_budget_.store(budget, std::memory_order_relaxed);
  }
  // The served certificate's notAfter (Unix time); 0: no TLS.
  void set_certificate_expiry(std::int64_t not_after) {
    certificate_expiry_.store(not_after, std::memory_order_relaxed);
  }

  void collect(MetricWriter& out) const override;

 private:
  // The loop is the only writer: a relaxed load and store, no locked instruction.
  static void increment(std::atomic<std::uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  std::atomic<std::size_t> connection_limit_;
  std::atomic<std::size_t> connections_{0};
  std::array<std::atomic<std::uint64_t>, kDropReasons> drops_{};
  std::array<std::atomic<std::uint64_t>, kStatusCount> responses_{};
  std::atomic<std::uint64_t> renders_{0};
  std::atomic<std::uint64_t> shared_renders_{0};
  std::atomic<std::size_t> response_bytes_{0};
  std::atomic<std::size_t> response_budget_{0};
  std::atomic<std::int64_t> certificate_expiry_{0};
};

}  // namespace execmond::http

// What the endpoint itself does, as metrics: open connections against the limit, the ones
// it had to drop and why, the responses it sent and the renders they shared. They replace
// prometheus-cpp's exposer_* metrics. Written by the event loop, read by the renderer.
#pragma once

#include <prometheus/collectable.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "http/status_codes.h"

namespace execmond::http {

class EndpointMetrics : public prometheus::Collectable {
 public:
  enum class Drop { kEvictedIdle, kEvictedIncomplete, kEvictedStalled, kRefused, kTimeout };
  static constexpr std::size_t kDropReasons = 5;

  explicit EndpointMetrics(std::size_t connection_limit) : connection_limit_(connection_limit) {}

  void set_connections(std::size_t count) { connections_.store(count, std::memory_order_relaxed); }
  void count_drop(Drop reason) { increment(drops_[static_cast<std::size_t>(reason)]); }
  void count_response(int status);
  void count_render() { increment(renders_); }

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  // The loop is the only writer: a relaxed load and store, no locked instruction.
  static void increment(std::atomic<std::uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  std::size_t connection_limit_;
  std::atomic<std::size_t> connections_{0};
  std::array<std::atomic<std::uint64_t>, kDropReasons> drops_{};
  std::array<std::atomic<std::uint64_t>, kStatusCount> responses_{};
  std::atomic<std::uint64_t> renders_{0};
};

}  // namespace execmond::http

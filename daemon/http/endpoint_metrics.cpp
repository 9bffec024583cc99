// SPDX-License-Identifier: Apache-2.0
#include "http/endpoint_metrics.h"

#include <algorithm>
#include <string>

namespace execmond::http {

void EndpointMetrics::count_response(int status) {
  const auto* found = std::find(std::begin(kStatuses), std::end(kStatuses), status);
  if (found != std::end(kStatuses)) increment(responses_[found - std::begin(kStatuses)]);
}

void EndpointMetrics::collect(MetricWriter& out) const {
  write_single_sample(out, "execmond_http_connections", MetricType::kGauge,
                      "Connections to /metrics open now, in any state",
                      static_cast<double>(connections_.load(std::memory_order_relaxed)));
  write_single_sample(out, "execmond_http_connections_limit", MetricType::kGauge,
                      "Connections /metrics holds at most before it evicts one",
                      static_cast<double>(connection_limit_));

  out.family("execmond_http_connections_dropped_total", MetricType::kCounter,
             "Connections closed by the server: evicted to make room (idle, incomplete request, "
             "stalled reader), refused because every one was being served, or past a deadline");
  static constexpr const char* kReasons[kDropReasons] = {"evicted_idle", "evicted_incomplete",
                                                         "evicted_stalled", "refused", "timeout"};
  for (std::size_t i = 0; i < kDropReasons; ++i) {
    out.sample({{"reason", kReasons[i]}},
               static_cast<double>(drops_[i].load(std::memory_order_relaxed)));
  }

  out.family("execmond_http_responses_total", MetricType::kCounter,
             "Responses sent by /metrics, by HTTP status code");
  for (std::size_t i = 0; i < std::size(kStatuses); ++i) {
    const std::string code = std::to_string(kStatuses[i]);
    out.sample({{"code", code}},
               static_cast<double>(responses_[i].load(std::memory_order_relaxed)));
  }

  write_single_sample(out, "execmond_http_renders_total", MetricType::kCounter,
                      "Expositions rendered before this one; parallel scrapes share one render",
                      static_cast<double>(renders_.load(std::memory_order_relaxed)));
}

}  // namespace execmond::http

// SPDX-License-Identifier: Apache-2.0
#include "http/endpoint_metrics.h"

#include <string>

namespace execmond::http {
namespace {

template <typename T>
double value_of(const std::atomic<T>& atomic) {
  return static_cast<double>(atomic.load(std::memory_order_relaxed));
}

}  // namespace

void EndpointMetrics::count_response(int status) {
  if (const auto index = status_index(status)) increment(responses_[*index]);
}

void EndpointMetrics::collect(MetricWriter& out) const {
  write_single_sample(out, "execmond_http_connections", MetricType::kGauge,
                      "Connections to /metrics open now, in any state", value_of(connections_));
  write_single_sample(out, "execmond_http_connections_limit", MetricType::kGauge,
                      "Connections /metrics holds at most before it evicts one (sized from the "
                      "descriptor limit)",
                      value_of(connection_limit_));

  out.family("execmond_http_connections_dropped_total", MetricType::kCounter,
             "Connections closed by the server: evicted to make room (idle, incomplete request, "
             "stalled reader), refused because every one was being served, past a deadline, "
             "from an address over its TLS handshake rate, admitted under a web configuration a "
             "reload replaced, or sending too slowly while the response byte budget was full");
  for (std::size_t i = 0; i < kDropReasons; ++i) {
    out.sample({{"reason", kDropNames[i]}}, value_of(drops_[i]));
  }

  out.family("execmond_http_responses_total", MetricType::kCounter,
             "Responses sent by /metrics, by HTTP status code");
  for (std::size_t i = 0; i < kStatusCount; ++i) {
    const std::string code = std::to_string(kStatusCodes[i].code);
    out.sample({{"code", code}}, value_of(responses_[i]));
  }

  write_single_sample(out, "execmond_http_renders_total", MetricType::kCounter,
                      "Expositions rendered before this one; parallel scrapes share one render",
                      value_of(renders_));
  write_single_sample(out, "execmond_http_shared_render_responses_total", MetricType::kCounter,
                      "Scrapes answered from the newest render (at most 1 s old) because slow "
                      "clients filled the response byte budget",
                      value_of(shared_renders_));
  write_single_sample(out, "execmond_http_response_bytes_held", MetricType::kGauge,
                      "Bytes held for clients still receiving a scrape: one copy of each render "
                      "they read, and the inflate window of each plain-text one",
                      value_of(response_bytes_));
  write_single_sample(out, "execmond_http_response_bytes_budget", MetricType::kGauge,
                      "The most execmond_http_response_bytes_held may reach before the slowest "
                      "senders are cut off",
                      value_of(response_budget_));
  const std::int64_t expiry = certificate_expiry_.load(std::memory_order_relaxed);
  if (expiry != 0) {
    write_single_sample(
        out, "execmond_http_tls_certificate_expiry_timestamp_seconds", MetricType::kGauge,
        "When the certificate /metrics serves expires (its notAfter)", static_cast<double>(expiry));
  }
}

}  // namespace execmond::http

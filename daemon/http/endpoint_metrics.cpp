#include "http/endpoint_metrics.h"

#include <prometheus/metric_family.h>

#include <string>

namespace execmond::http {
namespace {

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily result;
  result.name = std::move(name);
  result.help = std::move(help);
  result.type = type;
  return result;
}

void add_gauge(prometheus::MetricFamily& to, double value) {
  prometheus::ClientMetric metric;
  metric.gauge.value = value;
  to.metric.push_back(std::move(metric));
}

void add_counter(prometheus::MetricFamily& to, double value, std::string label = {},
                 std::string label_value = {}) {
  prometheus::ClientMetric metric;
  metric.counter.value = value;
  if (!label.empty()) metric.label.push_back({std::move(label), std::move(label_value)});
  to.metric.push_back(std::move(metric));
}

template <typename T>
double value_of(const std::atomic<T>& atomic) {
  return static_cast<double>(atomic.load(std::memory_order_relaxed));
}

}  // namespace

void EndpointMetrics::count_response(int status) {
  if (const auto index = status_index(status)) increment(responses_[*index]);
}

std::vector<prometheus::MetricFamily> EndpointMetrics::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;

  families.push_back(family("execmond_http_connections",
                            "Connections to /metrics open now, in any state", MetricType::Gauge));
  add_gauge(families.back(), value_of(connections_));

  families.push_back(family("execmond_http_connections_limit",
                            "Connections /metrics holds at most before it evicts one (sized "
                            "from the descriptor limit)",
                            MetricType::Gauge));
  add_gauge(families.back(), value_of(connection_limit_));

  families.push_back(family(
      "execmond_http_connections_dropped_total",
      "Connections closed by the server: evicted to make room (idle, incomplete request, "
      "stalled reader), refused because every one was being served, past a deadline, from an "
      "address over its TLS handshake rate, admitted under a web configuration a reload "
      "replaced, or holding a render beyond the response byte budget",
      MetricType::Counter));
  for (std::size_t i = 0; i < kDropReasons; ++i) {
    add_counter(families.back(), value_of(drops_[i]), "reason", kDropNames[i]);
  }

  families.push_back(family("execmond_http_responses_total",
                            "Responses sent by /metrics, by HTTP status code",
                            MetricType::Counter));
  for (std::size_t i = 0; i < kStatusCount; ++i) {
    add_counter(families.back(), value_of(responses_[i]), "code",
                std::to_string(kStatusCodes[i].code));
  }

  families.push_back(
      family("execmond_http_renders_total",
             "Expositions rendered before this one; parallel scrapes share one render",
             MetricType::Counter));
  add_counter(families.back(), value_of(renders_));

  families.push_back(family("execmond_http_shared_render_responses_total",
                            "Scrapes answered from the newest render (at most 1 s old) because "
                            "slow clients filled the response byte budget",
                            MetricType::Counter));
  add_counter(families.back(), value_of(shared_renders_));

  families.push_back(family("execmond_http_response_bytes_held",
                            "Bytes of rendered expositions held for clients still receiving "
                            "them (one copy per render)",
                            MetricType::Gauge));
  add_gauge(families.back(), value_of(response_bytes_));

  families.push_back(family("execmond_http_response_bytes_budget",
                            "The most execmond_http_response_bytes_held may reach before the "
                            "slowest senders are cut off",
                            MetricType::Gauge));
  add_gauge(families.back(), value_of(response_budget_));

  const std::int64_t expiry = certificate_expiry_.load(std::memory_order_relaxed);
  if (expiry != 0) {
    families.push_back(family("execmond_http_tls_certificate_expiry_timestamp_seconds",
                              "When the certificate /metrics serves expires (its notAfter)",
                              MetricType::Gauge));
    add_gauge(families.back(), static_cast<double>(expiry));
  }
  return families;
}

}  // namespace execmond::http

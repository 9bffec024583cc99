#include "http/endpoint_metrics.h"

#include <prometheus/metric_family.h>

#include <algorithm>
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

}  // namespace

void EndpointMetrics::count_response(int status) {
  if (const auto index = status_index(status)) increment(responses_[*index]);
}

std::vector<prometheus::MetricFamily> EndpointMetrics::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;

  families.push_back(family("execmond_http_connections",
                            "Connections to /metrics open now, in any state", MetricType::Gauge));
  add_gauge(families.back(), static_cast<double>(connections_.load(std::memory_order_relaxed)));

  families.push_back(family("execmond_http_connections_limit",
                            "Connections /metrics holds at most before it evicts one",
                            MetricType::Gauge));
  add_gauge(families.back(), static_cast<double>(connection_limit_));

  families.push_back(
      family("execmond_http_connections_dropped_total",
             "Connections closed by the server: evicted to make room (idle, incomplete request, "
             "stalled reader), refused because every one was being served, or past a deadline",
             MetricType::Counter));
  static constexpr const char* kReasons[kDropReasons] = {"evicted_idle", "evicted_incomplete",
                                                         "evicted_stalled", "refused", "timeout"};
  for (std::size_t i = 0; i < kDropReasons; ++i) {
    add_counter(families.back(), static_cast<double>(drops_[i].load(std::memory_order_relaxed)),
                "reason", kReasons[i]);
  }

  families.push_back(family("execmond_http_responses_total",
                            "Responses sent by /metrics, by HTTP status code",
                            MetricType::Counter));
  for (std::size_t i = 0; i < kStatusCount; ++i) {
    add_counter(families.back(), static_cast<double>(responses_[i].load(std::memory_order_relaxed)),
                "code", std::to_string(kStatusCodes[i].code));
  }

  families.push_back(
      family("execmond_http_renders_total",
             "Expositions rendered before this one; parallel scrapes share one render",
             MetricType::Counter));
  add_counter(families.back(), static_cast<double>(renders_.load(std::memory_order_relaxed)));
  return families;
}

}  // namespace execmond::http

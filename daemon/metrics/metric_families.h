// Building blocks of the small collectors: a family and its samples, by value.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <utility>

namespace execmond {

// An empty family; `help` must hold no `\` or newline (prometheus-cpp writes it as is).
inline prometheus::MetricFamily metric_family(std::string name, prometheus::MetricType type,
                                              std::string help) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.type = type;
  family.help = std::move(help);
  return family;
}

// A sample of a counter or gauge family.
inline prometheus::ClientMetric sample(prometheus::MetricType type, double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter)
    metric.counter.value = value;
  else
    metric.gauge.value = value;
  return metric;
}

// A family of one unlabelled sample: the daemon's many single numbers.
inline prometheus::MetricFamily single_sample_family(std::string name, prometheus::MetricType type,
                                                     std::string help, double value) {
  prometheus::MetricFamily family = metric_family(std::move(name), type, std::move(help));
  family.metric.push_back(sample(type, value));
  return family;
}

}  // namespace execmond

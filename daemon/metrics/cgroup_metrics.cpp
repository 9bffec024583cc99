#include "metrics/cgroup_metrics.h"

#include <prometheus/metric_family.h>

namespace execmond {
namespace {

prometheus::MetricFamily one_value(const char* name, const char* help, prometheus::MetricType type,
                                   double value) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
  return family;
}

}  // namespace

std::vector<prometheus::MetricFamily> CgroupMetrics::Collect() const {
  using prometheus::MetricType;
  return {
      one_value("execmond_cgroup_walks_total",
                "Walks of the cgroup hierarchy started to resolve new cgroup ids.",
                MetricType::Counter, static_cast<double>(resolver_.walks_started())),
      one_value("execmond_cgroup_directories_read_total", "Cgroup directories read by those walks.",
                MetricType::Counter, static_cast<double>(resolver_.directories_visited())),
      one_value("execmond_cgroups_cached", "Cgroup ids the daemon can resolve without a walk.",
                MetricType::Gauge, static_cast<double>(resolver_.cached_cgroups())),
      one_value("execmond_cgroup_unresolved_events_total",
                "Events whose cgroup could not be resolved in time, counted under "
                "unit=\"execmond_unresolved\".",
                MetricType::Counter, static_cast<double>(resolver_.unresolved_events())),
  };
}

}  // namespace execmond

#include "metrics/cgroup_metrics.h"

#include "metrics/metric_families.h"

namespace execmond {

std::vector<prometheus::MetricFamily> CgroupMetrics::Collect() const {
  using prometheus::MetricType;
  return {
      single_sample_family("execmond_cgroup_walks_total", MetricType::Counter,
                           "Walks of the cgroup hierarchy started to resolve new cgroup ids.",
                           static_cast<double>(resolver_.walks_started())),
      single_sample_family("execmond_cgroup_directories_read_total", MetricType::Counter,
                           "Cgroup directories read by those walks.",
                           static_cast<double>(resolver_.directories_visited())),
      single_sample_family("execmond_cgroups_cached", MetricType::Gauge,
                           "Cgroup ids the daemon can resolve without a walk.",
                           static_cast<double>(resolver_.cached_cgroups())),
      single_sample_family("execmond_cgroup_unresolved_events_total", MetricType::Counter,
                           "Events whose cgroup could not be resolved in time, counted under "
                           "unit=\"execmond_unresolved\".",
                           static_cast<double>(resolver_.unresolved_events())),
  };
}

}  // namespace execmond

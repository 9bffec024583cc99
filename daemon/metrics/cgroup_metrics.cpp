#include "metrics/cgroup_metrics.h"

namespace execmond {

void CgroupMetrics::collect(MetricWriter& out) const {
  write_single_sample(out, "execmond_cgroup_walks_total", MetricType::kCounter,
                      "Walks of the cgroup hierarchy started to resolve new cgroup ids.",
                      static_cast<double>(resolver_.walks_started()));
  write_single_sample(out, "execmond_cgroup_directories_read_total", MetricType::kCounter,
                      "Cgroup directories read by those walks.",
                      static_cast<double>(resolver_.directories_visited()));
  write_single_sample(out, "execmond_cgroups_cached", MetricType::kGauge,
                      "Cgroup ids the daemon can resolve without a walk.",
                      static_cast<double>(resolver_.cached_cgroups()));
  write_single_sample(out, "execmond_cgroup_unresolved_events_total", MetricType::kCounter,
                      "Events whose cgroup could not be resolved in time, counted under "
                      "unit=\"execmond_unresolved\".",
                      static_cast<double>(resolver_.unresolved_events()));
}

}  // namespace execmond

// How well the cgroup resolver keeps up: walks, cache, unresolved events.
#pragma once

#include <vector>

#include "cgroups/cgroup_resolver.h"
#include "metrics/metric_writer.h"

namespace execmond {

//   execmond_cgroup_walks_total                  counter: walks of the hierarchy started
//   execmond_cgroup_directories_read_total       counter: directories those walks read
//   execmond_cgroups_cached                      gauge: cgroup ids the resolver holds
//   execmond_cgroup_unresolved_events_total      counter: events counted under
//                                                unit="execmond_unresolved"
class CgroupMetrics : public Collector {
 public:
  // `resolver` must outlive every scrape.
  explicit CgroupMetrics(const CgroupResolver& resolver) : resolver_(resolver) {}
  void collect(MetricWriter& out) const override;

 private:
  const CgroupResolver& resolver_;
};

}  // namespace execmond

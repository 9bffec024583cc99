// execmond_events_lost_total: records the kernel found no ring buffer room for.
#pragma once

#include <prometheus/collectable.h>

#include <vector>

namespace execmond {

class ProcessProbes;

class DroppedEventsCollector : public prometheus::Collectable {
 public:
  // `probes` must outlive every scrape: unregister this collector before destroying it.
  explicit DroppedEventsCollector(const ProcessProbes& probes) : probes_(probes) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const ProcessProbes& probes_;
};

}  // namespace execmond

// execmond_events_lost_total: records the kernel found no ring buffer room for.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "metrics/metric_writer.h"

namespace execmond {

class DroppedEventsCollector : public Collector {
 public:
  // `dropped` reads the kernel's counters at each scrape (ProcessProbes::dropped_events);
  // what it reads must outlive every scrape: unregister this collector first.
  explicit DroppedEventsCollector(std::function<std::uint64_t()> dropped)
      : dropped_(std::move(dropped)) {}
  void collect(MetricWriter& out) const override;

 private:
  std::function<std::uint64_t()> dropped_;
};

}  // namespace execmond

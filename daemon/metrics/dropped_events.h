// execmond_events_lost_total: records the kernel found no ring buffer room for.
#pragma once

#include <prometheus/collectable.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace execmond {

class DroppedEventsCollector : public prometheus::Collectable {
 public:
  // `dropped` reads the kernel's counters at each scrape (ProcessProbes::dropped_events);
  // what it reads must outlive every scrape: unregister this collector first.
  explicit DroppedEventsCollector(std::function<std::uint64_t()> dropped)
      : dropped_(std::move(dropped)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::function<std::uint64_t()> dropped_;
};

}  // namespace execmond

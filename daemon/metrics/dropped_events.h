// execmond_events_lost_total{record}: records the kernel found no ring buffer room for,
// by kind.
#pragma once

#include <prometheus/collectable.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace execmond {

// The kernel's per-kind loss counters (bpf/execmond.h enum execmond_drop_reason).
struct LostRecords {
  std::uint64_t exec = 0;
  std::uint64_t exit = 0;
  std::uint64_t exec_failed = 0;
  std::uint64_t binary = 0;
};

class DroppedEventsCollector : public prometheus::Collectable {
 public:
  // `lost` reads the kernel's counters at each scrape (ProcessProbes::lost_records); what
  // it reads must outlive every scrape: unregister this collector first.
  explicit DroppedEventsCollector(std::function<LostRecords()> lost) : lost_(std::move(lost)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::function<LostRecords()> lost_;
};

}  // namespace execmond

#include "metrics/dropped_events.h"

#include "metrics/metric_families.h"

namespace execmond {

std::vector<prometheus::MetricFamily> DroppedEventsCollector::Collect() const {
  const LostRecords lost = lost_();
  auto family = metric_family(
      "execmond_events_lost_total", prometheus::MetricType::Counter,
      "Records the kernel could not queue because the ring buffer was full, by kind: exec, "
      "exit and exec_failed records are missing from the other counters; a lost binary "
      "record leaves its exec unjudged. Raise ring_buffer_size.");
  for (const auto& [record, count] :
       {std::pair{"exec", lost.exec}, std::pair{"exit", lost.exit},
        std::pair{"exec_failed", lost.exec_failed}, std::pair{"binary", lost.binary}}) {
    auto metric = sample(prometheus::MetricType::Counter, static_cast<double>(count));
    metric.label.push_back({"record", record});
    family.metric.push_back(std::move(metric));
  }
  return {family};
}

}  // namespace execmond

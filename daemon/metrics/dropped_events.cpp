#include "metrics/dropped_events.h"

#include "metrics/metric_families.h"

namespace execmond {

std::vector<prometheus::MetricFamily> DroppedEventsCollector::Collect() const {
  return {single_sample_family(
      "execmond_events_lost_total", prometheus::MetricType::Counter,
      "Exec, exit and failed-exec records the kernel could not queue because the ring "
      "buffer was full; every other counter misses exactly these. Raise ring_buffer_size.",
      static_cast<double>(dropped_()))};
}

}  // namespace execmond

#include "metrics/dropped_events.h"

#include <prometheus/metric_family.h>

namespace execmond {

std::vector<prometheus::MetricFamily> DroppedEventsCollector::Collect() const {
  prometheus::MetricFamily family;
  family.name = "execmond_events_lost_total";
  family.help =
      "Exec, exit and failed-exec records the kernel could not queue because the ring "
      "buffer was full; every other counter misses exactly these. Raise ring_buffer_size.";
  family.type = prometheus::MetricType::Counter;
  prometheus::ClientMetric metric;
  metric.counter.value = static_cast<double>(dropped_());
  family.metric.push_back(std::move(metric));
  return {std::move(family)};
}

}  // namespace execmond

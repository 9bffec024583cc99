#include "metrics/dropped_events.h"

namespace execmond {

void DroppedEventsCollector::collect(MetricWriter& out) const {
  write_single_sample(
      out, "execmond_events_lost_total", MetricType::kCounter,
      "Exec, exit and failed-exec records the kernel could not queue because the ring "
      "buffer was full; every other counter misses exactly these. Raise ring_buffer_size.",
      static_cast<double>(dropped_()));
}

}  // namespace execmond

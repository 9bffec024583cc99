// SPDX-License-Identifier: Apache-2.0
#include "metrics/dropped_events.h"

#include <utility>

namespace execmond {

void DroppedEventsCollector::collect(MetricWriter& out) const {
  const LostRecords lost = lost_();
  out.family("execmond_events_lost_total", MetricType::kCounter,
             "Records the kernel could not queue because the ring buffer was full, by kind: "
             "exec, exit and exec_failed records are missing from the other counters; a lost "
             "binary record leaves its exec unjudged. Raise ring_buffer_size.");
  for (const auto& [record, count] :
       {std::pair{"exec", lost.exec}, std::pair{"exit", lost.exit},
        std::pair{"exec_failed", lost.exec_failed}, std::pair{"binary", lost.binary}})
    out.sample({{"record", record}}, static_cast<double>(count));
}

}  // namespace execmond

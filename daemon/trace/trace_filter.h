// SPDX-License-Identifier: Apache-2.0
// Which events `execmond trace` shows.
#pragma once

#include "events/comm_filter.h"
#include "events/label_filter.h"
#include "events/records.h"
#include "trace/trace_options.h"

namespace execmond {

class TraceFilter {
 public:
  explicit TraceFilter(const TraceOptions& options);

  // `exec_failure`: the event is a failed exec; `unit`: the unit label of its cgroup.
  // Exits of short-lived processes are filtered in the kernel already (--min-duration).
  bool shows(const execmond_event_header& hdr, bool exec_failure, std::string_view unit) const;

 private:
  CommFilter comms_;
  LabelFilter units_;
  std::optional<std::uint32_t> uid_;
  std::optional<std::uint32_t> pid_;
  bool failed_only_;
};

}  // namespace execmond

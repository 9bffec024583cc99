// SPDX-License-Identifier: Apache-2.0
#include "trace/trace_filter.h"

namespace execmond {

TraceFilter::TraceFilter(const TraceOptions& options)
    : comms_(options.include_comms, options.exclude_comms),
      units_(options.include_units, {}),
      uid_(options.uid),
      pid_(options.pid),
      failed_only_(options.failed_only) {}

bool TraceFilter::shows(const execmond_event_header& hdr, bool exec_failure,
                        std::string_view unit) const {
  if (failed_only_ && !exec_failure) return false;
  if (uid_ && hdr.uid != *uid_) return false;
  if (pid_ && hdr.pid != *pid_ && hdr.ppid != *pid_) return false;
  return comms_.admits(CommName(hdr.comm)) && units_.admits(unit);
}

}  // namespace execmond

#include "binaries/unexpected_binaries.h"

#include <utility>

namespace execmond {

UnexpectedBinaries::UnexpectedBinaries(BinaryVerdictCache& kernel_cache,
                                       UnexpectedBinaryMetrics& metrics,
                                       const UnexpectedExecLog& log, BinaryAllowList allow_list)
    : kernel_cache_(kernel_cache),
      metrics_(metrics),
      log_(log),
      allow_list_(std::move(allow_list)) {}

void UnexpectedBinaries::on_binary(const execmond_binary_event& e) {
  // A loader verdict's record (argv and cwd, no path): this stage writes none.
  if ((e.binary_flags & (EXECMOND_BINARY_LOADER | EXECMOND_BINARY_SCRIPT)) ==
      EXECMOND_BINARY_LOADER)
    return;
  const ResolvedBinary binary(e);
  if (allow_list_.allows(binary)) {
    // Scripts stay uncached: each exec of a script is judged by its own record.
    if (!binary.is_script() && !written_lately(e))
      kernel_cache_.write(e.binary, EXECMOND_VERDICT_ALLOWED);
    return;
  }
  metrics_.record_exec(binary.path(), CommName(e.hdr.comm));
  if (log_limiter_.admit(binary.path(), e.hdr.timestamp_ns)) {
    log_.write(e, binary);
  } else {
    metrics_.record_log_suppressed();
  }
}

void UnexpectedBinaries::replace_allow_list(BinaryAllowList allow_list) {
  allow_list_ = std::move(allow_list);
  kernel_cache_.clear();
  recent_writes_.fill(RecentWrite{});
}

bool UnexpectedBinaries::written_lately(const execmond_binary_event& e) {
  const execmond_binary_id& id = e.binary;
  const std::uint64_t now = e.hdr.timestamp_ns;
  RecentWrite& slot = recent_writes_[(id.ino ^ id.ctime_ns ^ id.dev ^ id.view) % kRecentWrites];
  if (slot.written_ns != 0 && slot.ino == id.ino && slot.ctime_ns == id.ctime_ns &&
      slot.dev == id.dev && slot.view == id.view && now - slot.written_ns < kRecentWriteNs)
    return true;
  slot = RecentWrite{id.ino, id.ctime_ns, id.dev, id.view, now};
  return false;
}

}  // namespace execmond

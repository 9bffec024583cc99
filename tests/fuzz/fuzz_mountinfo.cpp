// libFuzzer target: /proc/PID/mountinfo text, parsed into a MountTable and queried as
// the host-path candidates are (daemon/binaries/mount_table.h, host_paths.h). Any input
// must parse without a crash, a sanitizer report or unbounded work; every entry kept
// must satisfy what the parser promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "binaries/host_paths.h"
#include "binaries/mount_table.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace execmond;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const MountTable table = MountTable::parse(text);
  if (table.entries().size() > MountTable::kMaxEntries) std::abort();
  for (const MountEntry& entry : table.entries()) {
    if (entry.mount_point.empty() || entry.mount_point.front() != '/') std::abort();
    if (table.by_id(entry.mount_id) == nullptr) std::abort();
    // Every mount of this device, and a path under its root, as HostPaths asks.
    for (const HostPathCandidate& candidate :
         host_path_candidates(table, entry.dev, entry.root + "/x")) {
      if (candidate.path.empty()) std::abort();
    }
  }
  return 0;
}

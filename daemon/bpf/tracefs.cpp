// SPDX-License-Identifier: Apache-2.0
#include "bpf/tracefs.h"

#include <mntent.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace execmond {
namespace {

// Where libbpf looks for tracepoint ids, in its order.
constexpr const char* kTracefsRoots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
constexpr const char* kExecTracepoint = "/events/syscalls/sys_exit_execve/id";
constexpr const char* kNoSyscallTracepoints =
    "this kernel has no system call tracepoints (CONFIG_FTRACE_SYSCALLS)";

bool tracepoint_visible() {
  for (const char* root : kTracefsRoots)
    if (access((std::string(root) + kExecTracepoint).c_str(), R_OK) == 0) return true;
  return false;
}

// The first of kTracefsRoots with tracefs mounted on it, or nullptr. From the mount
// table: tracefs is mode 0700, so a look inside cannot tell "absent" from "not ours".
const char* tracefs_mount_point() {
  std::unique_ptr<FILE, decltype(&endmntent)> mounts(setmntent("/proc/self/mounts", "r"),
                                                     &endmntent);
  if (!mounts) return nullptr;
  bool mounted[std::size(kTracefsRoots)] = {};
  while (const mntent* m = getmntent(mounts.get())) {
    if (std::strcmp(m->mnt_type, "tracefs") != 0) continue;
    for (std::size_t i = 0; i < std::size(kTracefsRoots); ++i)
      if (std::strcmp(m->mnt_dir, kTracefsRoots[i]) == 0) mounted[i] = true;
  }
  for (std::size_t i = 0; i < std::size(kTracefsRoots); ++i)
    if (mounted[i]) return kTracefsRoots[i];
  return nullptr;
}

}  // namespace

bool exec_syscall_tracepoints_available(std::string& problem, bool may_mount) {
  if (tracepoint_visible()) return true;
  if (const char* root = tracefs_mount_point()) {
    problem = access(root, R_OK | X_OK) != 0
                  ? std::string("tracefs at ") + root + " is not readable by this user (" +
                        std::strerror(errno) + "); run execmond as uid 0"
                  : kNoSyscallTracepoints;
    return false;
  }
  if (!may_mount) {
    problem = "tracefs is not mounted (mounted only when no cheaper hook is available)";
    return false;
  }
  if (mount("tracefs", kTracefsRoots[0], "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) !=
      0) {
    problem = std::string("tracefs is not mounted and mounting it at ") + kTracefsRoots[0] +
              " failed (" + std::strerror(errno) + "); mount it with: mount -t tracefs tracefs " +
              kTracefsRoots[0];
    return false;
  }
  spdlog::info("mounted tracefs at {} to attach the exec system call tracepoints",
               kTracefsRoots[0]);
  if (tracepoint_visible()) return true;
  problem = kNoSyscallTracepoints;
  return false;
}

}  // namespace execmond

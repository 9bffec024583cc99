#include "bpf/tracefs.h"

#include <mntent.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

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

// What is mounted at each of kTracefsRoots, from the mount table (tracefs is mode 0700,
// so a look inside cannot tell "absent" from "not ours"). The last mount at a directory
// is the one on top: a tracefs with another filesystem mounted over it is shadowed.
struct TracefsMount {
  const char* root = nullptr;  // the first root with tracefs on top, or with tracefs under
  std::string on_top;          // the type of what is on top there: "tracefs" or another
};

TracefsMount tracefs_mount() {
  std::unique_ptr<FILE, decltype(&endmntent)> mounts(setmntent("/proc/self/mounts", "r"),
                                                     &endmntent);
  TracefsMount found;
  if (!mounts) return found;
  std::string top[std::size(kTracefsRoots)];
  bool tracefs[std::size(kTracefsRoots)] = {};
  while (const mntent* m = getmntent(mounts.get())) {
    for (std::size_t i = 0; i < std::size(kTracefsRoots); ++i) {
      if (std::strcmp(m->mnt_dir, kTracefsRoots[i]) != 0) continue;
      top[i] = m->mnt_type;
      if (top[i] == "tracefs") tracefs[i] = true;
    }
  }
  for (std::size_t i = 0; i < std::size(kTracefsRoots); ++i)
    if (tracefs[i] && top[i] == "tracefs") return {kTracefsRoots[i], top[i]};
  for (std::size_t i = 0; i < std::size(kTracefsRoots); ++i)
    if (tracefs[i]) return {kTracefsRoots[i], top[i]};
  return found;
}

}  // namespace

bool exec_syscall_tracepoints_available(std::string& problem, bool may_mount) {
  if (tracepoint_visible()) return true;
  if (const TracefsMount mounted = tracefs_mount(); mounted.root != nullptr) {
    const std::string root = mounted.root;
    if (mounted.on_top != "tracefs") {
      problem = "tracefs at " + root + " is hidden by a " + mounted.on_top +
                " mounted over it; unmount that, or mount tracefs again: mount -t tracefs "
                "tracefs " +
                root;
    } else if (access(root.c_str(), R_OK | X_OK) != 0) {
      problem = "tracefs at " + root + " is not readable by this user (" + std::strerror(errno) +
                "); run execmond as uid 0";
    } else {
      problem = kNoSyscallTracepoints;
    }
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

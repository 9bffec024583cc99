#include "bpf/tracefs.h"

#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace execmond {
namespace {

// Where libbpf looks for tracepoint ids, in its order.
constexpr const char* kTracefsRoots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
constexpr const char* kExecTracepoint = "/events/syscalls/sys_exit_execve/id";

bool tracepoint_visible() {
  for (const char* root : kTracefsRoots)
    if (access((std::string(root) + kExecTracepoint).c_str(), R_OK) == 0) return true;
  return false;
}

bool tracefs_mounted() {
  for (const char* root : kTracefsRoots)
    if (access((std::string(root) + "/events").c_str(), F_OK) == 0) return true;
  return false;
}

}  // namespace

bool exec_syscall_tracepoints_available(std::string& problem) {
  if (tracepoint_visible()) return true;
  if (tracefs_mounted()) {
    problem = "this kernel has no system call tracepoints (CONFIG_FTRACE_SYSCALLS)";
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
  problem = "this kernel has no system call tracepoints (CONFIG_FTRACE_SYSCALLS)";
  return false;
}

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// tracefs, which classic tracepoints (the exec system calls') need to be attached.
#pragma once

#include <string>

namespace execmond {

// True when the exec system call tracepoints can be attached. If tracefs is not mounted
// (containers, minimal hosts) and `may_mount`, mounts it at /sys/kernel/tracing first;
// `problem` says why they cannot be attached.
bool exec_syscall_tracepoints_available(std::string& problem, bool may_mount);

}  // namespace execmond

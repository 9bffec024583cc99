// tracefs, which classic tracepoints (the exec system calls') need to be attached.
#pragma once

#include <string>

namespace execmond {

// True when the exec system call tracepoints can be attached. If tracefs is not mounted
// (containers, minimal hosts), mounts it at /sys/kernel/tracing first; `problem` then
// says why they cannot be attached.
bool exec_syscall_tracepoints_available(std::string& problem);

}  // namespace execmond

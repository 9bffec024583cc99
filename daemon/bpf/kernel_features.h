// SPDX-License-Identifier: Apache-2.0
// Finds out what the running kernel lets execmond's BPF programs do, by asking it:
// tiny test programs and maps, its BTF, sysfs and tracefs. Needs the privilege the
// daemon runs with; the answer goes to plan_variants().
#pragma once

#include "bpf/variant_plan.h"

namespace execmond {

// The exec system calls' entry points on this architecture, which the fexit and
// kretprobe programs attach to.
struct ExecSyscallFunctions {
  const char* execve;
  const char* execveat;
};
ExecSyscallFunctions exec_syscall_functions();

// Probes every feature in KernelFeatures. Mounts tracefs only when the syscall
// tracepoints are the one failed-exec hook left (`exec_failures_wanted` and neither
// fexit nor kprobes work).
KernelFeatures probe_kernel_features(bool exec_failures_wanted);

}  // namespace execmond

// Which of the BPF object's programs to run, decided from probed kernel features alone:
// a pure function, so every combination is unit-tested without root or a kernel.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace execmond {

// What the running kernel (and our privilege on it) allows, as KernelFeatures::probe()
// found it. Each `*_problem` says in words why a feature is missing.
struct KernelFeatures {
  bool task_storage = false;  // BPF_MAP_TYPE_TASK_STORAGE (5.11)
  bool bpf_atomics = false;   // atomic exchange in BPF programs (5.12)
  // sched_process_exit passes group_dead (6.16): the kernel names each process's last
  // thread, so no claim between threads is needed.
  bool exit_reports_group_dead = false;
  bool fexit = false;  // a fexit program attached to the exec system call
  std::string fexit_problem;
  bool kprobes = false;  // the kprobe PMU, and BTF or kallsyms naming the exec system call
  std::string kprobes_problem;
  bool syscall_tracepoints = false;  // sys_exit_execve visible in a tracefs we may read
  std::string syscall_tracepoints_problem;
  bool task_pt_regs = false;  // bpf_task_pt_regs (5.15); computed from the stack before
  // A fentry program attached to security_bprm_check: sees each exec's first file,
  // which for a script is the script itself.
  bool script_hook = false;
  std::string script_hook_problem;
};

// How failed execs are caught, cheapest first.
enum class ExecFailureHook {
  kFexit,               // fexit on the exec system calls: costs other system calls nothing
  kKretprobe,           // kretprobe on them: a few hundred ns per exec, nothing elsewhere
  kSyscallTracepoints,  // their exit tracepoints: every system call on the host pays a bit
  kNone,                // not caught: off in the configuration, or no hook available
};

// What the operator asked for.
struct VariantWishes {
  bool exec_failures = true;  // config `exec_failures`
  bool task_storage = true;   // false with EXECMOND_DISABLE_TASK_STORAGE=1
};

struct Variant {
  bool task_storage = false;     // lifetimes from the exec, exits under the exec'd name
  bool group_dead_exit = false;  // exit program reads group_dead instead of claiming
  ExecFailureHook exec_failures = ExecFailureHook::kNone;
  // The script's own file seen by the kernel (fentry on security_bprm_check, its sighting
  // kept in task storage until the exec); otherwise userspace resolves scripts.
  bool script_hook = false;

  bool operator==(const Variant& o) const {
    return task_storage == o.task_storage && group_dead_exit == o.group_dead_exit &&
           exec_failures == o.exec_failures && script_hook == o.script_hook;
  }
};

// The BPF object's programs whose loading a variant decides. daemon/bpf/program_table.*
// binds each to its skeleton member, so that a renamed program is a compile error.
enum class Program {
  kExec,
  kExecWithoutStorage,
  kRename,
  kExit,
  kExitWithoutStorage,
  kGroupExit,
  kGroupExitWithoutStorage,
  kExecveReturn,
  kExecveatReturn,
  kExecveKretprobe,
  kExecveatKretprobe,
  kExecveExit,
  kExecveatExit,
  kBprmCheck,
};
inline constexpr std::size_t kProgramCount = static_cast<std::size_t>(Program::kBprmCheck) + 1;

// The maps only some variants create.
enum class OptionalMap {
  kProcessStates,    // task storage of lifetimes and names
  kReportedExits,    // exits claimed between threads
  kScriptSightings,  // task storage of what the script hook saw
};
inline constexpr std::size_t kOptionalMapCount =
    static_cast<std::size_t>(OptionalMap::kScriptSightings) + 1;

struct PlannedVariant {
  Variant variant;
  std::string reason;  // why this one, and why not the better ones
};

// Candidates, best first: the loader takes the first one the kernel accepts. A later
// candidate gives up what an earlier one needed, in case the kernel refuses it after all
// (the probes cannot foresee every verifier); the last one needs nothing optional.
std::vector<PlannedVariant> plan_variants(const KernelFeatures& features,
                                          const VariantWishes& wishes);

// The programs and optional maps a variant loads. Every Program is switched by the
// variant; the object has no other program.
std::vector<Program> programs_of(const Variant& variant);
std::vector<OptionalMap> optional_maps_of(const Variant& variant);

const char* describe(ExecFailureHook hook);
// How scripts are identified under a variant, for the log.
const char* describe_script_method(const Variant& variant);

}  // namespace execmond

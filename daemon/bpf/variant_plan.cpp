#include "bpf/variant_plan.h"

#include <utility>

namespace execmond {
namespace {

struct Choice {
  bool possible;
  std::string why;  // why it is or is not possible, for the log
};

// Task storage needs the map type and, where the kernel does not name the last thread,
// the atomic exchange that claims an exit.
Choice task_storage_choice(const KernelFeatures& f, const VariantWishes& w) {
  if (!w.task_storage)
    return {false,
            "task storage disabled by EXECMOND_DISABLE_TASK_STORAGE: lifetimes start at "
            "fork, exits are named after the leader's name at exit"};
  if (!f.task_storage)
    return {false,
            "no task storage for tracing programs (Linux 5.11+, or not allowed for this "
            "user): lifetimes start at fork, exits are named after the leader's name at "
            "exit"};
  if (!f.exit_reports_group_dead && !f.bpf_atomics)
    return {false,
            "no BPF atomics (Linux 5.12+) to claim exits in task storage: lifetimes "
            "start at fork, exits are named after the leader's name at exit"};
  return {true, "task storage: lifetimes start at exec, exits keep the exec'd name"};
}

// The failed-exec hooks worth trying, cheapest first, and why the others are not.
std::vector<ExecFailureHook> usable_hooks(const KernelFeatures& f, const VariantWishes& w,
                                          std::string& why) {
  std::vector<ExecFailureHook> hooks;
  if (!w.exec_failures) {
    why = "failed execs not tracked (exec_failures: false)";
    return hooks;
  }
  std::string skipped;
  const auto consider = [&](bool available, ExecFailureHook hook, const std::string& problem) {
    if (available)
      hooks.push_back(hook);
    else
      skipped +=
          std::string(skipped.empty() ? "" : "; ") + "not " + describe(hook) + ": " + problem;
  };
  consider(f.fexit, ExecFailureHook::kFexit, f.fexit_problem);
  consider(f.kprobes, ExecFailureHook::kKretprobe, f.kprobes_problem);
  consider(f.syscall_tracepoints, ExecFailureHook::kSyscallTracepoints,
           f.syscall_tracepoints_problem);
  why = hooks.empty() ? "failed execs not tracked: no hook is available (" + skipped + ")"
                      : "failed execs through " + std::string(describe(hooks.front())) +
                            (skipped.empty() ? "" : " (" + skipped + ")");
  return hooks;
}

// The script hook keeps what it saw in task storage until the exec's tracepoint.
Choice script_hook_choice(const KernelFeatures& f, const Choice& storage) {
  if (!f.script_hook)
    return {false, std::string("scripts: userspace resolution through /proc (no kernel hook: ") +
                       f.script_hook_problem + ")"};
  if (!storage.possible)
    return {false,
            "scripts: userspace resolution through /proc (the kernel hook needs task "
            "storage)"};
  return {true, std::string("scripts: ") +
                    describe_script_method(Variant{false, false, ExecFailureHook::kNone, true})};
}

}  // namespace

const char* describe(ExecFailureHook hook) {
  switch (hook) {
    case ExecFailureHook::kFexit:
      return "fexit on the exec system calls";
    case ExecFailureHook::kKretprobe:
      return "kretprobes on the exec system calls";
    case ExecFailureHook::kSyscallTracepoints:
      return "the exec system calls' exit tracepoints (every system call pays the tracing path)";
    case ExecFailureHook::kNone:
      break;
  }
  return "no failed-exec hook";
}

std::vector<PlannedVariant> plan_variants(const KernelFeatures& features,
                                          const VariantWishes& wishes) {
  const Choice storage = task_storage_choice(features, wishes);
  std::string hooks_why;
  std::vector<ExecFailureHook> hooks = usable_hooks(features, wishes, hooks_why);
  hooks.push_back(ExecFailureHook::kNone);  // failed execs are the first thing to give up
  const std::string exits_why = features.exit_reports_group_dead
                                    ? "the exit tracepoint names each process's last thread"
                                    : "threads exiting together claim the exit";

  const Choice script_hook = script_hook_choice(features, storage);

  // Given up first: the failed-exec hook, then the script hook, then task storage.
  std::vector<PlannedVariant> plan;
  for (const bool with_storage : {true, false}) {
    if (with_storage && !storage.possible) continue;
    for (const bool with_script_hook : {true, false}) {
      if (with_script_hook && !(script_hook.possible && with_storage)) continue;
      for (const ExecFailureHook hook : hooks) {
        Variant v{with_storage, features.exit_reports_group_dead, hook, with_script_hook};
        std::string reason;
        if (plan.empty()) {
          reason = storage.why + "; " + exits_why + "; " + hooks_why + "; " + script_hook.why;
        } else {
          const Variant& best = plan.front().variant;
          reason = "fallback if the kernel refuses the above:";
          if (best.task_storage && !with_storage)
            reason += " without task storage (lifetimes start at fork)";
          if (best.script_hook && !with_script_hook)
            reason += " without the script hook (scripts: userspace resolution through /proc)";
          if (hook != best.exec_failures) reason += std::string(" with ") + describe(hook);
        }
        plan.push_back({v, std::move(reason)});
      }
    }
  }
  return plan;
}

std::vector<Program> programs_of(const Variant& v) {
  std::vector<Program> programs;
  if (v.task_storage) {
    programs = {Program::kExec, Program::kRename,
                v.group_dead_exit ? Program::kGroupExit : Program::kExit};
  } else {
    programs = {Program::kExecWithoutStorage, v.group_dead_exit ? Program::kGroupExitWithoutStorage
                                                                : Program::kExitWithoutStorage};
  }
  switch (v.exec_failures) {
    case ExecFailureHook::kFexit:
      programs.insert(programs.end(), {Program::kExecveReturn, Program::kExecveatReturn});
      break;
    case ExecFailureHook::kKretprobe:
      programs.insert(programs.end(), {Program::kExecveKretprobe, Program::kExecveatKretprobe});
      break;
    case ExecFailureHook::kSyscallTracepoints:
      programs.insert(programs.end(), {Program::kExecveExit, Program::kExecveatExit});
      break;
    case ExecFailureHook::kNone:
      break;
  }
  if (v.script_hook) programs.push_back(Program::kBprmCheck);
  return programs;
}

std::vector<OptionalMap> optional_maps_of(const Variant& v) {
  std::vector<OptionalMap> maps;
  if (v.task_storage) maps.push_back(OptionalMap::kProcessStates);
  if (!v.group_dead_exit) maps.push_back(OptionalMap::kReportedExits);
  // handle_exec reads sightings whenever it has task storage (none without the hook).
  if (v.task_storage) maps.push_back(OptionalMap::kScriptSightings);
  return maps;
}

const char* describe_script_method(const Variant& v) {
  return v.script_hook ? "kernel hook (fentry on security_bprm_check sees each script's file)"
                       : "userspace resolution through /proc";
}

}  // namespace execmond

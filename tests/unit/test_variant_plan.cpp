// The variant planner for every combination of kernel features and wishes: what a
// kernel (or a user's privilege on it) allows decides the programs, and the reason
// given says which feature decided.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "bpf/variant_plan.h"

namespace execmond {
namespace {

template <typename T>
bool has(const std::vector<T>& values, T value) {
  for (const auto& v : values)
    if (v == value) return true;
  return false;
}

KernelFeatures features_from_bits(unsigned bits) {
  KernelFeatures f;
  f.task_storage = bits & 1;
  f.bpf_atomics = bits & 2;
  f.exit_reports_group_dead = bits & 4;
  f.fexit = bits & 8;
  f.kprobes = bits & 16;
  f.syscall_tracepoints = bits & 32;
  f.task_pt_regs = bits & 64;
  f.script_hook = bits & 128;
  f.script_hook_problem = "SCRIPT-HOOK-PROBLEM";
  f.fexit_problem = "FEXIT-PROBLEM";
  f.kprobes_problem = "KPROBES-PROBLEM";
  f.syscall_tracepoints_problem = "TRACEFS-PROBLEM";
  return f;
}

ExecFailureHook best_hook(const KernelFeatures& f, bool wanted) {
  if (!wanted) return ExecFailureHook::kNone;
  if (f.fexit) return ExecFailureHook::kFexit;
  if (f.kprobes) return ExecFailureHook::kKretprobe;
  if (f.syscall_tracepoints) return ExecFailureHook::kSyscallTracepoints;
  return ExecFailureHook::kNone;
}

}  // namespace

TEST_CASE("every combination of features gets the best variant it allows, then fallbacks") {
  for (unsigned bits = 0; bits < 256; ++bits) {
    for (const bool failures_wanted : {true, false}) {
      for (const bool storage_wanted : {true, false}) {
        const KernelFeatures f = features_from_bits(bits);
        const auto plan = plan_variants(f, {failures_wanted, storage_wanted});
        INFO("features " << bits << ", failures " << failures_wanted << ", storage "
                         << storage_wanted);
        REQUIRE(!plan.empty());
        const Variant& best = plan.front().variant;
        // Task storage depends on the storage map, and on atomics unless the kernel
        // names the last thread; never on the failed-exec hook (the non-root bug).
        const bool storage_possible =
            storage_wanted && f.task_storage && (f.bpf_atomics || f.exit_reports_group_dead);
        CHECK(best.task_storage == storage_possible);
        CHECK(best.group_dead_exit == f.exit_reports_group_dead);
        CHECK(best.exec_failures == best_hook(f, failures_wanted));
        // The script hook keeps its sightings in task storage.
        CHECK(best.script_hook == (storage_possible && f.script_hook));
        CHECK(plan.front().reason.find(f.script_hook && storage_possible
                                           ? "scripts: kernel hook"
                                           : "scripts: userspace resolution through /proc") !=
              std::string::npos);
        if (!f.script_hook)
          CHECK(plan.front().reason.find("SCRIPT-HOOK-PROBLEM") != std::string::npos);
        // Every candidate stays within what the kernel has.
        for (const auto& c : plan) {
          CHECK((!c.variant.task_storage || storage_possible));
          CHECK(c.variant.group_dead_exit == f.exit_reports_group_dead);
          CHECK((c.variant.exec_failures != ExecFailureHook::kFexit || f.fexit));
          CHECK((c.variant.exec_failures != ExecFailureHook::kKretprobe || f.kprobes));
          CHECK((c.variant.exec_failures != ExecFailureHook::kSyscallTracepoints ||
                 f.syscall_tracepoints));
          CHECK((failures_wanted || c.variant.exec_failures == ExecFailureHook::kNone));
          CHECK((!c.variant.script_hook || (f.script_hook && c.variant.task_storage)));
          CHECK(has(programs_of(c.variant), Program::kBprmCheck) == c.variant.script_hook);
          // The hook's sightings map exists wherever handle_exec reads it.
          CHECK(has(optional_maps_of(c.variant), OptionalMap::kScriptSightings) ==
                c.variant.task_storage);
          CHECK(!c.reason.empty());
        }
        // Task storage is kept as long as anything else can be given up first, and the
        // last candidate needs nothing optional.
        if (storage_possible)
          CHECK(plan[1 < plan.size() ? 1 : 0].variant.task_storage ==
                (best.exec_failures != ExecFailureHook::kNone || best.script_hook));
        CHECK(!plan.back().variant.task_storage);
        CHECK(!plan.back().variant.script_hook);
        CHECK(plan.back().variant.exec_failures == ExecFailureHook::kNone);
        // No candidate twice.
        for (std::size_t i = 0; i < plan.size(); ++i)
          for (std::size_t j = i + 1; j < plan.size(); ++j)
            CHECK(!(plan[i].variant == plan[j].variant));
      }
    }
  }
}

TEST_CASE("non-root with CAP_BPF and CAP_PERFMON: no tracefs, task storage kept") {
  KernelFeatures f;  // this VM seen by uid nobody: fexit refused, no kprobes, tracefs 0700
  f.task_storage = f.bpf_atomics = f.exit_reports_group_dead = f.task_pt_regs = true;
  f.fexit_problem = "the kernel refused to load a fexit program (Operation not permitted)";
  f.kprobes_problem = "the kernel has no kprobes (CONFIG_KPROBES)";
  f.syscall_tracepoints_problem = "tracefs at /sys/kernel/tracing is not readable by this user";
  const auto plan = plan_variants(f, {});
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].variant == Variant{true, true, ExecFailureHook::kNone});
  CHECK(plan[1].variant == Variant{false, true, ExecFailureHook::kNone});
  // The log says what is missing and why, and does not blame the kernel for storage.
  CHECK(plan[0].reason.find("task storage: lifetimes start at exec") != std::string::npos);
  CHECK(plan[0].reason.find("not readable by this user") != std::string::npos);
  CHECK(plan[0].reason.find("no task storage") == std::string::npos);
  CHECK(has(programs_of(plan[0].variant), Program::kRename));
}

TEST_CASE("Debian 5.10: no task storage, no fexit targets, kprobes") {
  KernelFeatures f;
  f.kprobes = f.syscall_tracepoints = true;
  f.fexit_problem = "the kernel's BTF does not describe __x64_sys_execve";
  const auto plan = plan_variants(f, {});
  REQUIRE(plan.size() == 3);
  CHECK(plan[0].variant == Variant{false, false, ExecFailureHook::kKretprobe});
  CHECK(plan[1].variant == Variant{false, false, ExecFailureHook::kSyscallTracepoints});
  CHECK(plan[0].reason.find("no task storage for tracing programs") != std::string::npos);
  CHECK(plan[0].reason.find("does not describe __x64_sys_execve") != std::string::npos);
  CHECK(programs_of(plan[0].variant) ==
        std::vector<Program>{Program::kExecWithoutStorage, Program::kExitWithoutStorage,
                             Program::kExecveKretprobe, Program::kExecveatKretprobe});
  CHECK(optional_maps_of(plan[0].variant) == std::vector<OptionalMap>{OptionalMap::kReportedExits});
  CHECK(plan[0].reason.find("scripts: userspace resolution through /proc") != std::string::npos);
}

TEST_CASE("Debian 6.1: task storage, atomics, fexit, the script hook; claims exits") {
  KernelFeatures f;
  f.task_storage = f.bpf_atomics = f.fexit = f.kprobes = f.syscall_tracepoints = true;
  f.script_hook = true;
  const auto plan = plan_variants(f, {});
  CHECK(plan[0].variant == Variant{true, false, ExecFailureHook::kFexit, true});
  CHECK(programs_of(plan[0].variant) == std::vector<Program>{Program::kExec, Program::kRename,
                                                             Program::kExit, Program::kExecveReturn,
                                                             Program::kExecveatReturn,
                                                             Program::kBprmCheck});
  CHECK(optional_maps_of(plan[0].variant) ==
        std::vector<OptionalMap>{OptionalMap::kProcessStates, OptionalMap::kReportedExits,
                                 OptionalMap::kScriptSightings});
  CHECK(plan[0].reason.find("scripts: kernel hook (fentry on security_bprm_check") !=
        std::string::npos);
  // The failed-exec hook is given up before the script hook, that before task storage.
  CHECK(plan[1].variant == Variant{true, false, ExecFailureHook::kKretprobe, true});
  CHECK(plan[4].variant == Variant{true, false, ExecFailureHook::kFexit, false});
  CHECK(plan[4].reason.find("without the script hook") != std::string::npos);
  CHECK(plan[8].variant == Variant{false, false, ExecFailureHook::kFexit, false});
}

TEST_CASE("the development VM: fentry refused, so scripts are resolved in userspace") {
  KernelFeatures f;
  f.task_storage = f.bpf_atomics = f.exit_reports_group_dead = f.syscall_tracepoints = true;
  f.script_hook_problem =
      "the kernel refused to attach a fentry program to security_bprm_check (Operation not "
      "supported)";
  const auto plan = plan_variants(f, {});
  CHECK(!plan[0].variant.script_hook);
  CHECK(plan[0].reason.find("scripts: userspace resolution through /proc (no kernel hook: the "
                            "kernel refused to attach a fentry program to security_bprm_check") !=
        std::string::npos);
  CHECK(std::string(describe_script_method(plan[0].variant)) ==
        "userspace resolution through /proc");
}

TEST_CASE("exec_failures: false loads no failed-exec program and says so") {
  KernelFeatures f;
  f.task_storage = f.bpf_atomics = f.exit_reports_group_dead = f.syscall_tracepoints = true;
  const auto plan = plan_variants(f, {false, true});
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].variant == Variant{true, true, ExecFailureHook::kNone});
  CHECK(plan[0].reason.find("exec_failures: false") != std::string::npos);
  CHECK(programs_of(plan[0].variant) ==
        std::vector<Program>{Program::kExec, Program::kRename, Program::kGroupExit});
  CHECK(optional_maps_of(plan[0].variant) ==
        std::vector<OptionalMap>{OptionalMap::kProcessStates, OptionalMap::kScriptSightings});
}

TEST_CASE("EXECMOND_DISABLE_TASK_STORAGE is named as the reason, not the kernel") {
  KernelFeatures f;
  f.task_storage = f.bpf_atomics = true;
  const auto plan = plan_variants(f, {true, false});
  CHECK(!plan[0].variant.task_storage);
  CHECK(plan[0].reason.find("EXECMOND_DISABLE_TASK_STORAGE") != std::string::npos);
}

}  // namespace execmond

#include "bpf/kernel_features.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "bpf/libbpf_logging.h"
#include "bpf/tracefs.h"
#include "service/file_descriptor.h"

namespace execmond {
namespace {

using Btf = std::unique_ptr<btf, decltype(&btf__free)>;

constexpr const char* kKprobePmu = "/sys/bus/event_source/devices/kprobe/type";

std::string error_text(int err) { return std::strerror(err < 0 ? -err : err); }

// Loads a program of a few instructions; the descriptor, or -errno.
int load_test_program(bpf_prog_type type, const bpf_insn* insns, std::size_t count,
                      const bpf_prog_load_opts* opts) {
  LibbpfWarningsAsDebug expected_to_fail_on_some_kernels;
  const int fd = bpf_prog_load(type, "execmond_probe", "GPL", insns, count, opts);
  return fd < 0 ? -errno : fd;
}

// `*(u64 *)(r10 - 8) = 0; r1 = 1; r1 = xchg(r10 - 8, r1); r0 = 0; exit`
bool kernel_has_bpf_atomics() {
  const bpf_insn insns[] = {
      {BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, -8, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 1},
      {BPF_STX | BPF_ATOMIC | BPF_DW, BPF_REG_10, BPF_REG_1, -8, BPF_XCHG},
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  const int fd = load_test_program(BPF_PROG_TYPE_SOCKET_FILTER, insns, std::size(insns), nullptr);
  FileDescriptor owned(fd);
  return fd >= 0;
}

// sched_process_exit(task, group_dead): the tracepoint's BTF prototype has 3 parameters
// (the context pointer first) where the kernel passes group_dead.
bool exit_tracepoint_reports_group_dead(const btf* vmlinux) {
  const int id = btf__find_by_name_kind(vmlinux, "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF);
  if (id < 0) return false;
  const btf_type* t = btf__type_by_id(vmlinux, btf__resolve_type(vmlinux, id));
  if (!t || !btf_is_ptr(t)) return false;
  const btf_type* proto = btf__type_by_id(vmlinux, t->type);
  return proto && btf_is_func_proto(proto) && btf_vlen(proto) == 3;
}

// A no-op fentry or fexit program attached to `function` for a moment: some kernels
// refuse them (no trampolines, lockdown), which only an attach shows.
bool tracing_program_attaches(const btf* vmlinux, const char* function, bpf_attach_type type,
                              std::string& problem) {
  const char* kind = type == BPF_TRACE_FENTRY ? "fentry" : "fexit";
  const int id = btf__find_by_name_kind(vmlinux, function, BTF_KIND_FUNC);
  if (id < 0) {
    problem = std::string("the kernel's BTF does not describe ") + function;
    return false;
  }
  const bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = type,
              .attach_btf_id = static_cast<__u32>(id));
  const int prog = load_test_program(BPF_PROG_TYPE_TRACING, insns, std::size(insns), &opts);
  if (prog < 0) {
    problem = std::string("the kernel refused to load a ") + kind + " program on " + function +
              " (" + error_text(prog) + ")";
    return false;
  }
  FileDescriptor owned_prog(prog);
  const int link = bpf_raw_tracepoint_open(nullptr, prog);
  if (link < 0) {
    problem = std::string("the kernel refused to attach a ") + kind + " program to " + function +
              " (" + error_text(errno) + ")";
    return false;
  }
  FileDescriptor owned_link(link);
  return true;
}

}  // namespace

ExecSyscallFunctions exec_syscall_functions() {
#if defined(__x86_64__)
  return {"__x64_sys_execve", "__x64_sys_execveat"};
#elif defined(__aarch64__)
  return {"__arm64_sys_execve", "__arm64_sys_execveat"};
#else
#error "execmond supports x86_64 and aarch64"
#endif
}

KernelFeatures probe_kernel_features(bool exec_failures_wanted) {
  KernelFeatures f;
  f.task_storage = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, nullptr) == 1;
  f.bpf_atomics = kernel_has_bpf_atomics();
  f.task_pt_regs =
      libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_task_pt_regs, nullptr) == 1;

  Btf vmlinux(btf__load_vmlinux_btf(), &btf__free);
  if (vmlinux) {
    f.exit_reports_group_dead = exit_tracepoint_reports_group_dead(vmlinux.get());
    const ExecSyscallFunctions functions = exec_syscall_functions();
    f.fexit =
        tracing_program_attaches(vmlinux.get(), functions.execve, BPF_TRACE_FEXIT, f.fexit_problem);
    f.script_hook = tracing_program_attaches(vmlinux.get(), "security_bprm_check", BPF_TRACE_FENTRY,
                                             f.script_hook_problem);
  } else {
    f.fexit_problem = f.script_hook_problem = "the kernel's BTF could not be read";
  }

  f.kprobes = access(kKprobePmu, F_OK) == 0;
  if (!f.kprobes) f.kprobes_problem = "the kernel has no kprobes (CONFIG_KPROBES)";

  // Only where they are the last hook left may tracefs be mounted for them.
  const bool may_mount = exec_failures_wanted && !f.fexit && !f.kprobes;
  f.syscall_tracepoints =
      exec_syscall_tracepoints_available(f.syscall_tracepoints_problem, may_mount);
  return f;
}

}  // namespace execmond

#include "bpf/process_probes.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "bpf/libbpf_logging.h"
#include "bpf/tracefs.h"
#include "events/records.h"
#include "execmond.skel.h"

namespace execmond {
namespace {

constexpr const char* kVmlinuxBtf = "/sys/kernel/btf/vmlinux";

// The exec system calls' entry points, which the failed-exec programs fexit.
#if defined(__x86_64__)
constexpr const char* kExecveFunction = "__x64_sys_execve";
constexpr const char* kExecveatFunction = "__x64_sys_execveat";
#elif defined(__aarch64__)
constexpr const char* kExecveFunction = "__arm64_sys_execve";
constexpr const char* kExecveatFunction = "__arm64_sys_execveat";
#else
#error "execmond supports x86_64 and aarch64"
#endif

// A variant of the object: what the kernel is asked to run.
struct Variant {
  bool task_storage;
  ExecFailureHook exec_failures;
};

const char* describe(ExecFailureHook hook) {
  switch (hook) {
    case ExecFailureHook::kFexit:
      return "fexit on the exec system calls";
    case ExecFailureHook::kSyscallTracepoints:
      return "the exec system call tracepoints";
    case ExecFailureHook::kNone:
      break;
  }
  return "no failed-exec tracking";
}

bool kernel_has_function(const btf* vmlinux, const char* name) {
  return vmlinux && btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) >= 0;
}

std::string error_text(int err) { return std::strerror(err < 0 ? -err : err); }

bool is_privilege_error(int err) { return err == -EPERM || err == -EACCES; }

ProbeError privilege_error(const char* step, int err) {
  return ProbeError(ProbeError::Cause::kNoPrivilege,
                    std::string("not allowed to ") + step + " BPF programs (" + error_text(err) +
                        "): run execmond as root, or with CAP_BPF and CAP_PERFMON",
                    err < 0 ? -err : err);
}

ProbeError kernel_error(const char* step, int err) {
  return ProbeError(ProbeError::Cause::kKernelRejected,
                    std::string("the kernel refused to ") + step + " execmond's BPF programs (" +
                        error_text(err) +
                        "); execmond needs Linux 5.8 or later with BTF. Run with log_level: debug "
                        "to see libbpf's and the verifier's explanation",
                    err < 0 ? -err : err);
}

// A testing and troubleshooting knob: run the 5.8-5.10 code path on any kernel.
bool task_storage_disabled_by_environment() {
  const char* value = std::getenv("EXECMOND_DISABLE_TASK_STORAGE");
  return value && *value && std::strcmp(value, "0") != 0;
}

}  // namespace

void ProcessProbes::SkeletonDeleter::operator()(execmond_bpf* skeleton) const {
  execmond_bpf__destroy(skeleton);  // detaches every link, then unloads
}

ProcessProbes::ProcessProbes(Skeleton skeleton, bool tracks_exec_time,
                             ExecFailureHook exec_failure_hook)
    : skeleton_(std::move(skeleton)),
      tracks_exec_time_(tracks_exec_time),
      exec_failure_hook_(exec_failure_hook),
      possible_cpus_(libbpf_num_possible_cpus()) {}

ProcessProbes::~ProcessProbes() = default;

ProcessProbes::Skeleton ProcessProbes::load(const ProbeOptions& options, bool with_task_storage,
                                            ExecFailureHook exec_failure_hook) {
  Skeleton skeleton(execmond_bpf__open());
  if (!skeleton) throw kernel_error("open", -errno);

  auto* rodata = skeleton->rodata;
  rodata->min_duration_ns = static_cast<__u64>(options.min_duration.count());
  rodata->wakeup_bytes = options.wakeup_bytes;
  rodata->capture_args = options.capture_args;
  skeleton->bss->resolve_binaries = options.resolve_binaries;

  auto& progs = skeleton->progs;
  int err =
      bpf_map__set_max_entries(skeleton->maps.events, static_cast<__u32>(options.ring_buffer_size));
  err = err ?: bpf_map__set_autocreate(skeleton->maps.process_states, with_task_storage);
  err = err ?: bpf_program__set_autoload(progs.handle_exec, with_task_storage);
  err = err ?: bpf_program__set_autoload(progs.handle_exit, with_task_storage);
  err = err ?: bpf_program__set_autoload(progs.handle_exec_without_storage, !with_task_storage);
  err = err ?: bpf_program__set_autoload(progs.handle_exit_without_storage, !with_task_storage);
  const bool fexit = exec_failure_hook == ExecFailureHook::kFexit;
  const bool tracepoints = exec_failure_hook == ExecFailureHook::kSyscallTracepoints;
  err = err ?: bpf_program__set_autoload(progs.handle_execve_return, fexit);
  err = err ?: bpf_program__set_autoload(progs.handle_execveat_return, fexit);
  if (fexit) {
    err = err ?: bpf_program__set_attach_target(progs.handle_execve_return, 0, kExecveFunction);
    err = err ?: bpf_program__set_attach_target(progs.handle_execveat_return, 0, kExecveatFunction);
  }
  for (bpf_program* prog : {progs.handle_execve_enter, progs.handle_execveat_enter,
                            progs.handle_execve_exit, progs.handle_execveat_exit})
    err = err ?: bpf_program__set_autoload(prog, tracepoints);
  err = err ?: bpf_map__set_autocreate(skeleton->maps.exec_calls, tracepoints);
  if (err) throw kernel_error("configure", err);

  err = execmond_bpf__load(skeleton.get());
  if (err) throw is_privilege_error(err) ? privilege_error("load", err) : kernel_error("load", err);
  err = execmond_bpf__attach(skeleton.get());
  if (err)
    throw is_privilege_error(err) ? privilege_error("attach", err) : kernel_error("attach", err);
  return skeleton;
}

std::unique_ptr<ProcessProbes> ProcessProbes::attach(const ProbeOptions& options) {
  if (access(kVmlinuxBtf, R_OK) != 0)
    throw ProbeError(ProbeError::Cause::kNoBtf,
                     std::string("this kernel has no BTF at ") + kVmlinuxBtf +
                         ": execmond needs Linux 5.8 or later built with CONFIG_DEBUG_INFO_BTF=y");

  // The first step that needs privilege: without it, say so and nothing else.
  const int storage_probe = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, nullptr);
  if (storage_probe < 0 && is_privilege_error(storage_probe))
    throw privilege_error("load", storage_probe);

  const bool task_storage = storage_probe == 1 && !task_storage_disabled_by_environment();
  std::unique_ptr<btf, decltype(&btf__free)> vmlinux(btf__load_vmlinux_btf(), &btf__free);
  const bool fexit_targets = kernel_has_function(vmlinux.get(), kExecveFunction) &&
                             kernel_has_function(vmlinux.get(), kExecveatFunction);
  vmlinux.reset();
  if (!fexit_targets)
    spdlog::info("the kernel's BTF does not describe {}: failed execs through {}", kExecveFunction,
                 describe(ExecFailureHook::kSyscallTracepoints));

  // Best first; each later variant gives up something a kernel may refuse: fexit (some
  // kernels forbid it), task storage for tracing programs (5.11) and BPF atomics (5.12).
  std::vector<Variant> variants;
  for (const bool storage : {true, false}) {
    if (storage && !task_storage) continue;
    if (fexit_targets) variants.push_back({storage, ExecFailureHook::kFexit});
    variants.push_back({storage, ExecFailureHook::kSyscallTracepoints});
  }
  variants.push_back({false, ExecFailureHook::kNone});

  std::optional<bool> tracepoints_usable;  // looked at, and tracefs mounted, once needed
  for (std::size_t i = 0;; ++i) {
    const Variant& v = variants[i];
    if (v.exec_failures == ExecFailureHook::kSyscallTracepoints) {
      if (!tracepoints_usable) {
        std::string problem;
        tracepoints_usable = exec_syscall_tracepoints_available(problem);
        if (!*tracepoints_usable)
          spdlog::warn("cannot use {}: {}", describe(v.exec_failures), problem);
      }
      if (!*tracepoints_usable) continue;
    }
    const bool last = i + 1 == variants.size();
    try {
      std::optional<LibbpfWarningsAsDebug> expected_to_fail_on_some_kernels;
      if (!last) expected_to_fail_on_some_kernels.emplace();
      auto probes = std::unique_ptr<ProcessProbes>(new ProcessProbes(
          load(options, v.task_storage, v.exec_failures), v.task_storage, v.exec_failures));
      if (v.exec_failures == ExecFailureHook::kNone)
        spdlog::warn("failed execs will not be seen: neither fexit nor tracefs is usable");
      return probes;
    } catch (const ProbeError& e) {
      if (last) throw;
      const Variant& next = variants[i + 1];
      // Only losing task storage changes what is measured; the hooks see the same.
      if (v.task_storage && !next.task_storage)
        spdlog::warn(
            "the kernel refused task storage for tracing programs ({}): lifetimes "
            "will start at fork",
            error_text(e.error()));
      else
        spdlog::info("the kernel refused {} ({}): using {} (log_level: debug shows why)",
                     describe(v.exec_failures), error_text(e.error()),
                     describe(next.exec_failures));
    }
  }
}

int ProcessProbes::ring_buffer_fd() const { return bpf_map__fd(skeleton_->maps.events); }

std::uint64_t ProcessProbes::dropped_events() const {
  std::vector<__u64> per_cpu(static_cast<std::size_t>(possible_cpus_ > 0 ? possible_cpus_ : 1));
  std::uint64_t total = 0;
  for (__u32 reason = 0; reason < EXECMOND_DROP_REASONS; ++reason) {
    if (bpf_map__lookup_elem(skeleton_->maps.dropped_events, &reason, sizeof(reason),
                             per_cpu.data(), per_cpu.size() * sizeof(__u64), 0) != 0)
      continue;
    for (__u64 count : per_cpu) total += count;
  }
  return total;
}

void ProcessProbes::set_resolve_binaries(bool on) {
  // .bss is mapped into this process: the programs see the store at once.
  __atomic_store_n(&skeleton_->bss->resolve_binaries, on, __ATOMIC_RELAXED);
}

void ProcessProbes::allow(const execmond_binary_id& binary) {
  execmond_binary_id key = binary;
  key.flags = 0;
  const __u8 allowed = 1;
  const int err = bpf_map__update_elem(skeleton_->maps.allowed_binaries, &key, sizeof(key),
                                       &allowed, sizeof(allowed), BPF_ANY);
  // Not fatal: the binary is resolved again at its next exec.
  if (err) spdlog::debug("cannot cache an allowed binary: {}", error_text(err));
}

void ProcessProbes::clear() {
  bpf_map* map = skeleton_->maps.allowed_binaries;
  execmond_binary_id key{};
  // Deleting the first key each time: iteration would skip keys deleted under it.
  while (bpf_map__get_next_key(map, nullptr, &key, sizeof(key)) == 0)
    if (bpf_map__delete_elem(map, &key, sizeof(key), 0) != 0) break;
}

std::vector<std::string> ProcessProbes::attached_programs() const {
  std::vector<std::string> names;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skeleton_->obj) {
    if (bpf_program__autoload(prog)) names.emplace_back(bpf_program__name(prog));
  }
  return names;
}

}  // namespace execmond

#include "bpf/process_probes.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "bpf/tracefs.h"
#include "events/records.h"
#include "execmond.skel.h"

namespace execmond {
namespace {

constexpr const char* kVmlinuxBtf = "/sys/kernel/btf/vmlinux";

// A variant of the object: what the kernel is asked to run.
struct Variant {
  bool task_storage;
  bool exec_failures;
};

std::string error_text(int err) { return std::strerror(err < 0 ? -err : err); }

bool is_privilege_error(int err) { return err == -EPERM || err == -EACCES; }

ProbeError privilege_error(const char* step, int err) {
  return ProbeError(ProbeError::Cause::kNoPrivilege,
                    std::string("not allowed to ") + step + " BPF programs (" + error_text(err) +
                        "): run execmond as root, or with CAP_BPF and CAP_PERFMON");
}

ProbeError kernel_error(const char* step, int err) {
  return ProbeError(ProbeError::Cause::kKernelRejected,
                    std::string("the kernel refused to ") + step + " execmond's BPF programs (" +
                        error_text(err) +
                        "); execmond needs Linux 5.8 or later with BTF. Run with log_level: debug "
                        "to see libbpf's and the verifier's explanation");
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

ProcessProbes::ProcessProbes(Skeleton skeleton, bool tracks_exec_time, bool tracks_exec_failures)
    : skeleton_(std::move(skeleton)),
      tracks_exec_time_(tracks_exec_time),
      tracks_exec_failures_(tracks_exec_failures),
      possible_cpus_(libbpf_num_possible_cpus()) {}

ProcessProbes::~ProcessProbes() = default;

ProcessProbes::Skeleton ProcessProbes::load(const ProbeOptions& options, bool with_task_storage,
                                            bool with_exec_failures) {
  Skeleton skeleton(execmond_bpf__open());
  if (!skeleton) throw kernel_error("open", -errno);

  auto* rodata = skeleton->rodata;
  rodata->min_duration_ns = static_cast<__u64>(options.min_duration.count());
  rodata->wakeup_bytes = options.wakeup_bytes;
  rodata->capture_args = options.capture_args;

  auto& progs = skeleton->progs;
  int err =
      bpf_map__set_max_entries(skeleton->maps.events, static_cast<__u32>(options.ring_buffer_size));
  err = err ?: bpf_map__set_autocreate(skeleton->maps.process_states, with_task_storage);
  err = err ?: bpf_program__set_autoload(progs.handle_exec, with_task_storage);
  err = err ?: bpf_program__set_autoload(progs.handle_exit, with_task_storage);
  err = err ?: bpf_program__set_autoload(progs.handle_exec_without_storage, !with_task_storage);
  err = err ?: bpf_program__set_autoload(progs.handle_exit_without_storage, !with_task_storage);
  for (bpf_program* prog : {progs.handle_execve_enter, progs.handle_execveat_enter,
                            progs.handle_execve_exit, progs.handle_execveat_exit})
    err = err ?: bpf_program__set_autoload(prog, with_exec_failures);
  err = err ?: bpf_map__set_autocreate(skeleton->maps.exec_calls, with_exec_failures);
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

  std::string tracepoint_problem;
  Variant best{storage_probe == 1 && !task_storage_disabled_by_environment(),
               exec_syscall_tracepoints_available(tracepoint_problem)};
  if (!best.exec_failures) spdlog::warn("failed execs will not be seen: {}", tracepoint_problem);

  // Degrade one feature at a time when a kernel refuses a variant (task storage for
  // tracing programs came in 5.11).
  std::vector<Variant> variants{best};
  if (best.task_storage) variants.push_back({false, best.exec_failures});
  if (best.exec_failures) variants.push_back({false, false});
  for (std::size_t i = 0;; ++i) {
    const Variant& v = variants[i];
    try {
      return std::unique_ptr<ProcessProbes>(new ProcessProbes(
          load(options, v.task_storage, v.exec_failures), v.task_storage, v.exec_failures));
    } catch (const ProbeError& e) {
      if (e.cause() != ProbeError::Cause::kKernelRejected || i + 1 == variants.size()) throw;
      spdlog::warn(
          "{}; retrying without {}", e.what(),
          v.task_storage ? "task storage (lifetimes will start at fork)" : "failed-exec tracking");
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

std::vector<std::string> ProcessProbes::attached_programs() const {
  std::vector<std::string> names;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skeleton_->obj) {
    if (bpf_program__autoload(prog)) names.emplace_back(bpf_program__name(prog));
  }
  return names;
}

}  // namespace execmond

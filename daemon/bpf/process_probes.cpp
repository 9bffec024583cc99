#include "bpf/process_probes.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <utility>

#include "bpf/kernel_features.h"
#include "bpf/libbpf_logging.h"
#include "bpf/program_table.h"
#include "events/records.h"
#include "execmond.skel.h"

namespace execmond {
namespace {

constexpr const char* kVmlinuxBtf = "/sys/kernel/btf/vmlinux";
constexpr const char* kBpfStatsSysctl = "/proc/sys/kernel/bpf_stats_enabled";
// tests/benchmark/bpf-stats-cost.py: a getppid loop with a one-line BPF program on it.
constexpr const char* kBpfStatsCost =
    "two clock reads per program run; measured +53 ns per run, median of 60 pairs, within "
    "the noise of a loaded 2-vCPU VM with Linux 6.18";
// tests/benchmark/run-benchmark.py, monitors phase: a getppid() loop with and without.
constexpr const char* kSyscallTracepointCost =
    "measured: getppid() 119 -> 159 ns, +34%, on a 2-vCPU VM with Linux 6.18";

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

// The host's mount namespace, as PID 1 sees it (the daemon itself may have its own:
// PrivateMounts under systemd). 0 when it cannot be read: needs ptrace access to PID 1.
__u32 host_mount_namespace() {
  struct stat st {};
  if (stat("/proc/1/ns/mnt", &st) == 0) return static_cast<__u32>(st.st_ino);
  spdlog::info(
      "cannot read the host's mount namespace (/proc/1/ns/mnt: {}): the programs take PID "
      "1's from the kernel at the first exec",
      error_text(errno));
  return 0;
}

__u64 boottime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<__u64>(ts.tv_sec) * 1000000000u + static_cast<__u64>(ts.tv_nsec);
}

template <typename T>
bool contains(const std::vector<T>& values, T value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

std::vector<std::string> names_of(const std::vector<Program>& programs) {
  std::vector<std::string> names;
  for (const Program p : programs) names.emplace_back(name_of(p));
  return names;
}

// kretprobes have no attach target in their section name: the architecture decides it.
int attach_kretprobes(execmond_bpf& skeleton) {
  const ExecSyscallFunctions functions = exec_syscall_functions();
  for (const auto& [program, function] :
       {std::pair{Program::kExecveKretprobe, functions.execve},
        std::pair{Program::kExecveatKretprobe, functions.execveat}}) {
    bpf_link*& link = link_of(skeleton, program);
    link = bpf_program__attach_kprobe(program_of(skeleton, program), true, function);
    if (!link) return -errno;
  }
  return 0;
}

void log_features(const KernelFeatures& f) {
  spdlog::debug(
      "kernel features: task storage {}, BPF atomics {}, exit passes group_dead {}, fexit {}{}, "
      "kprobes {}{}, syscall tracepoints {}{}, bpf_task_pt_regs {}, script hook {}{}",
      f.task_storage, f.bpf_atomics, f.exit_reports_group_dead, f.fexit,
      f.fexit ? "" : " (" + f.fexit_problem + ")", f.kprobes,
      f.kprobes ? "" : " (" + f.kprobes_problem + ")", f.syscall_tracepoints,
      f.syscall_tracepoints ? "" : " (" + f.syscall_tracepoints_problem + ")", f.task_pt_regs,
      f.script_hook, f.script_hook ? "" : " (" + f.script_hook_problem + ")");
}

}  // namespace

void ProcessProbes::SkeletonDeleter::operator()(execmond_bpf* skeleton) const {
  execmond_bpf__destroy(skeleton);  // detaches every link, then unloads
}

ProcessProbes::ProcessProbes(Skeleton skeleton, const Variant& variant)
    : skeleton_(std::move(skeleton)),
      variant_(variant),
      possible_cpus_(libbpf_num_possible_cpus()) {
  const int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
  const int error = errno;
  stats_enabled_ = FileDescriptor(stats < 0 ? -1 : stats);
  if (stats < 0 && !has_program_stats())
    spdlog::warn(
        "BPF run-time statistics are off (enabling them for execmond needs CAP_SYS_ADMIN: {}): "
        "execmond_bpf_program_* are not exported, execmond_bpf_stats_enabled is 0 and the "
        "dashboard's BPF time per exec panel stays empty. `sysctl kernel.bpf_stats_enabled=1` "
        "turns them on for every BPF program on the host ({})",
        error_text(error), kBpfStatsCost);
}

ProcessProbes::~ProcessProbes() = default;

ProcessProbes::Skeleton ProcessProbes::load(const ProbeOptions& options, const Variant& variant) {
  Skeleton skeleton(execmond_bpf__open());
  if (!skeleton) throw kernel_error("open", -errno);

  auto* rodata = skeleton->rodata;
  rodata->wakeup_bytes = options.wakeup_bytes;
  rodata->capture_args = options.capture_args;
  skeleton->bss->resolve_binaries = options.resolve_binaries;
  rodata->loaded_ns = boottime_ns();
  skeleton->bss->host_mntns = options.host_mntns;
  skeleton->bss->min_duration_ns = static_cast<__u64>(options.min_duration.count());

  rodata->script_hook = variant.script_hook;
  int err =
      bpf_map__set_max_entries(skeleton->maps.events, static_cast<__u32>(options.ring_buffer_size));
  const std::vector<OptionalMap> maps = optional_maps_of(variant);
  for (std::size_t i = 0; i < kOptionalMapCount; ++i) {
    const auto map = static_cast<OptionalMap>(i);
    err = err ?: bpf_map__set_autocreate(map_of(*skeleton, map), contains(maps, map));
  }
  // Every program is the variant's to switch (program_table.h).
  const std::vector<Program> programs = programs_of(variant);
  for (std::size_t i = 0; i < kProgramCount; ++i) {
    const auto program = static_cast<Program>(i);
    err = err
              ?: bpf_program__set_autoload(program_of(*skeleton, program),
                                           contains(programs, program));
  }
  if (variant.exec_failures == ExecFailureHook::kFexit) {
    const ExecSyscallFunctions functions = exec_syscall_functions();
    err = err
              ?: bpf_program__set_attach_target(program_of(*skeleton, Program::kExecveReturn), 0,
                                                functions.execve);
    err = err
              ?: bpf_program__set_attach_target(program_of(*skeleton, Program::kExecveatReturn), 0,
                                                functions.execveat);
  }
  if (err) throw kernel_error("configure", err);

  err = execmond_bpf__load(skeleton.get());
  if (err) throw is_privilege_error(err) ? privilege_error("load", err) : kernel_error("load", err);
  err = execmond_bpf__attach(skeleton.get());
  if (!err && variant.exec_failures == ExecFailureHook::kKretprobe)
    err = attach_kretprobes(*skeleton);
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

  ProbeOptions load_options = options;
  load_options.host_mntns = host_mount_namespace();
  const KernelFeatures features = probe_kernel_features(options.exec_failures);
  log_features(features);
  const VariantWishes wishes{options.exec_failures, !task_storage_disabled_by_environment()};
  const std::vector<PlannedVariant> plan = plan_variants(features, wishes);

  for (std::size_t i = 0;; ++i) {
    const PlannedVariant& candidate = plan[i];
    const bool last = i + 1 == plan.size();
    try {
      std::optional<LibbpfWarningsAsDebug> expected_to_fail_on_some_kernels;
      if (!last) expected_to_fail_on_some_kernels.emplace();
      auto probes = std::unique_ptr<ProcessProbes>(
          new ProcessProbes(load(load_options, candidate.variant), candidate.variant));
      spdlog::info("kernel variant: {}", candidate.reason);
      spdlog::info("script files: {}", describe_script_method(candidate.variant));
      if (candidate.variant.exec_failures == ExecFailureHook::kSyscallTracepoints)
        spdlog::warn(
            "failed execs through the syscall tracepoints: every system call of every process "
            "on this host takes the kernel's tracing path while execmond runs ({}); set "
            "exec_failures: false if that matters more than counting failed execs",
            kSyscallTracepointCost);
      return probes;
    } catch (const ProbeError& e) {
      if (last) throw;
      spdlog::warn(
          "the kernel refused {} ({}); trying the next variant (log_level: debug "
          "shows why)",
          fmt::join(names_of(programs_of(candidate.variant)), ", "), error_text(e.error()));
    }
  }
}

std::uint32_t ProcessProbes::host_mntns() const {
  return __atomic_load_n(&skeleton_->bss->host_mntns, __ATOMIC_RELAXED);
}

int ProcessProbes::ring_buffer_fd() const { return bpf_map__fd(skeleton_->maps.events); }

std::array<std::uint64_t, EXECMOND_DROP_REASONS> ProcessProbes::dropped_events_by_kind() const {
  std::vector<__u64> per_cpu(static_cast<std::size_t>(possible_cpus_ > 0 ? possible_cpus_ : 1));
  std::array<std::uint64_t, EXECMOND_DROP_REASONS> dropped{};
  for (__u32 reason = 0; reason < EXECMOND_DROP_REASONS; ++reason) {
    if (bpf_map__lookup_elem(skeleton_->maps.dropped_events, &reason, sizeof(reason),
                             per_cpu.data(), per_cpu.size() * sizeof(__u64), 0) != 0)
      continue;
    for (__u64 count : per_cpu) dropped[reason] += count;
  }
  return dropped;
}

std::uint64_t ProcessProbes::dropped_events() const {
  std::uint64_t total = 0;
  for (const std::uint64_t count : dropped_events_by_kind()) total += count;
  return total;
}

void ProcessProbes::set_resolve_binaries(bool on) {
  // .bss is mapped into this process: the programs see the store at once.
  __atomic_store_n(&skeleton_->bss->resolve_binaries, on, __ATOMIC_RELAXED);
}

void ProcessProbes::write(const execmond_binary_id& binary, execmond_verdict verdict) {
  const __u32 value = verdict;
  const int err = bpf_map__update_elem(skeleton_->maps.binary_verdicts, &binary, sizeof(binary),
                                       &value, sizeof(value), BPF_ANY);
  // Not fatal: the binary is resolved again at its next exec.
  if (err) spdlog::debug("cannot cache a binary's verdict: {}", error_text(err));
}

void ProcessProbes::erase(const execmond_binary_id& binary) {
  const int err = bpf_map__delete_elem(skeleton_->maps.binary_verdicts, &binary, sizeof(binary), 0);
  if (err && err != -ENOENT) spdlog::debug("cannot forget a binary's verdict: {}", error_text(err));
}

void ProcessProbes::clear() {
  bpf_map* map = skeleton_->maps.binary_verdicts;
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

void ProcessProbes::set_min_duration(std::chrono::nanoseconds min_duration) {
  // The programs read it once per exit; a torn read is impossible for an aligned u64.
  __atomic_store_n(&skeleton_->bss->min_duration_ns, static_cast<__u64>(min_duration.count()),
                   __ATOMIC_RELAXED);
}

bool ProcessProbes::has_program_stats() const {
  if (stats_enabled_.get() >= 0) return true;
  char value = '0';
  const FileDescriptor sysctl(open(kBpfStatsSysctl, O_RDONLY | O_CLOEXEC));
  return sysctl.get() >= 0 && read(sysctl.get(), &value, 1) == 1 && value == '1';
}

std::vector<ProgramStats> ProcessProbes::program_stats() const {
  std::vector<ProgramStats> stats;
  if (!has_program_stats()) return stats;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skeleton_->obj) {
    if (!bpf_program__autoload(prog)) continue;
    bpf_prog_info info{};
    __u32 length = sizeof(info);
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &length) != 0) continue;
    stats.push_back({bpf_program__name(prog), info.run_time_ns, info.run_cnt});
  }
  return stats;
}

}  // namespace execmond

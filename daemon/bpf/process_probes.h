// The BPF programs, loaded and attached for as long as a ProcessProbes lives.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "binaries/binary_verdict_cache.h"
#include "bpf/variant_plan.h"
#include "events/records.h"
#include "service/file_descriptor.h"

struct execmond_bpf;

namespace execmond {

struct ProbeOptions {
  std::size_t ring_buffer_size = std::size_t{4} << 20;
  std::chrono::nanoseconds min_duration{0};
  // Wake the reader once this many bytes wait in the ring buffer; 0 wakes it for every
  // record (latency over efficiency, for `execmond trace`).
  std::size_t wakeup_bytes = 0;
  // Full exec records: the path and argv (`execmond trace`); the daemon needs neither.
  bool capture_args = false;
  // Resolve the path of each binary not in the allowed-binaries cache (changeable later
  // with set_resolve_binaries()).
  bool resolve_binaries = false;
  bool exec_failures = true;  // hook failed execs at all (config `exec_failures`)
  // Set by attach(): the inode number of /proc/1/ns/mnt, 0 when unreadable (the
  // programs then learn it themselves).
  std::uint32_t host_mntns = 0;
};

// Why the programs could not be loaded: each has its own remedy and exit code.
class ProbeError : public std::runtime_error {
 public:
  enum class Cause { kNoPrivilege, kNoBtf, kKernelRejected };
  ProbeError(Cause cause, const std::string& message, int error = 0)
      : std::runtime_error(message), cause_(cause), error_(error) {}
  Cause cause() const { return cause_; }
  int error() const { return error_; }  // the errno behind it, when there is one

 private:
  Cause cause_;
  int error_;
};

// The kernel's run-time statistics of one of our programs since it was loaded.
struct ProgramStats {
  std::string name;
  std::uint64_t run_time_ns = 0;
  std::uint64_t run_count = 0;
};

class ProcessProbes : public BinaryVerdictCache {
 public:
  // Probes the kernel, plans the variants (variant_plan.h), then opens, configures,
  // loads and attaches the first the kernel accepts; throws ProbeError. On failure
  // nothing stays loaded or attached.
  static std::unique_ptr<ProcessProbes> attach(const ProbeOptions& options);

  ~ProcessProbes();
  ProcessProbes(const ProcessProbes&) = delete;
  ProcessProbes& operator=(const ProcessProbes&) = delete;

  int ring_buffer_fd() const;
  // Records the kernel had no room for, summed over CPUs, by kind
  // (enum execmond_drop_reason), and in all.
  std::array<std::uint64_t, EXECMOND_DROP_REASONS> dropped_events_by_kind() const;
  std::uint64_t dropped_events() const;
  const Variant& variant() const { return variant_; }
  // The inode number of the host's mount namespace the programs compare with: from
  // /proc/1/ns/mnt, or learned by the programs at the first exec; 0 until then.
  std::uint32_t host_mntns() const;
  // Lifetimes start at the last exec (true) or at the fork (no task storage).
  bool tracks_exec_time() const { return variant_.task_storage; }
  bool tracks_exec_failures() const { return variant_.exec_failures != ExecFailureHook::kNone; }
  std::vector<std::string> attached_programs() const;

  // Turns path resolution in the kernel on or off, at once; any thread.
  void set_resolve_binaries(bool on);
  void write(const execmond_binary_id& binary, execmond_verdict verdict) override;
  void erase(const execmond_binary_id& binary) override;
  void clear() override;
  // Exits of processes that lived less are dropped in the kernel from the next exit on;
  // any thread (a plain store to the programs' writable data).
  void set_min_duration(std::chrono::nanoseconds min_duration);

  // Whether the kernel times BPF programs now: execmond enabled it (CAP_SYS_ADMIN), or
  // kernel.bpf_stats_enabled is 1 (the administrator's choice, for every program on the
  // host). Any thread; reads the sysctl.
  bool has_program_stats() const;
  // Run time and count of each attached program while has_program_stats(); empty
  // otherwise. Any thread.
  std::vector<ProgramStats> program_stats() const;

 private:
  struct SkeletonDeleter {
    void operator()(execmond_bpf* skeleton) const;
  };
  using Skeleton = std::unique_ptr<execmond_bpf, SkeletonDeleter>;

  ProcessProbes(Skeleton skeleton, const Variant& variant);
  static Skeleton load(const ProbeOptions& options, const Variant& variant);

  Skeleton skeleton_;
  Variant variant_;
  int possible_cpus_;
  // bpf_enable_stats(BPF_STATS_RUN_TIME): the kernel times BPF programs while any such
  // descriptor is open; kernel.bpf_stats_enabled is left as it is.
  FileDescriptor stats_enabled_;
};

}  // namespace execmond

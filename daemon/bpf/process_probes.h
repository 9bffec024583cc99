// The BPF programs, loaded and attached for as long as a ProcessProbes lives.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "binaries/allowed_binary_cache.h"

struct execmond_bpf;
struct execmond_binary_id;

namespace execmond {

struct ProbeOptions {
  std::size_t ring_buffer_size = std::size_t{4} << 20;
  std::chrono::nanoseconds min_duration{0};
  // Wake the reader once this many bytes wait in the ring buffer; 0 wakes it for every
  // record (latency over efficiency, for `execmond trace`).
  std::size_t wakeup_bytes = 0;
  bool capture_args = false;
  // Resolve the path of each binary not in the allowed-binaries cache (changeable later
  // with set_resolve_binaries()).
  bool resolve_binaries = false;
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

// How failed execs are caught, best first.
enum class ExecFailureHook {
  kFexit,               // fexit on the exec system calls: costs other system calls nothing
  kSyscallTracepoints,  // where fexit is refused: needs tracefs, slows every system call a bit
  kNone,                // neither is available: failed execs are not seen
};

class ProcessProbes : public AllowedBinaryCache {
 public:
  // Opens, configures, loads and attaches the skeleton; throws ProbeError. On failure
  // nothing stays loaded or attached.
  static std::unique_ptr<ProcessProbes> attach(const ProbeOptions& options);

  ~ProcessProbes();
  ProcessProbes(const ProcessProbes&) = delete;
  ProcessProbes& operator=(const ProcessProbes&) = delete;

  int ring_buffer_fd() const;
  // Records the kernel had no room for, summed over CPUs and event types.
  std::uint64_t dropped_events() const;
  // Lifetimes start at the last exec (true) or at the fork (kernels without task
  // storage for tracing programs).
  bool tracks_exec_time() const { return tracks_exec_time_; }
  bool tracks_exec_failures() const { return exec_failure_hook_ != ExecFailureHook::kNone; }
  std::vector<std::string> attached_programs() const;

  // Turns path resolution in the kernel on or off, at once; any thread.
  void set_resolve_binaries(bool on);
  void allow(const execmond_binary_id& binary) override;
  void clear() override;

 private:
  struct SkeletonDeleter {
    void operator()(execmond_bpf* skeleton) const;
  };
  using Skeleton = std::unique_ptr<execmond_bpf, SkeletonDeleter>;

  ProcessProbes(Skeleton skeleton, bool tracks_exec_time, ExecFailureHook exec_failure_hook);
  static Skeleton load(const ProbeOptions& options, bool with_task_storage,
                       ExecFailureHook exec_failure_hook);

  Skeleton skeleton_;
  bool tracks_exec_time_;
  ExecFailureHook exec_failure_hook_;
  int possible_cpus_;
};

}  // namespace execmond

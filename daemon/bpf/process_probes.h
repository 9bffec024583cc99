// The BPF programs, loaded and attached for as long as a ProcessProbes lives.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct execmond_bpf;

namespace execmond {

struct ProbeOptions {
  std::size_t ring_buffer_size = std::size_t{4} << 20;
  std::chrono::nanoseconds min_duration{0};
  // Wake the reader once this many bytes wait in the ring buffer; 0 wakes it for every
  // record (latency over efficiency, for `execmond trace`).
  std::size_t wakeup_bytes = 0;
  bool capture_args = false;
};

// Why the programs could not be loaded: each has its own remedy and exit code.
class ProbeError : public std::runtime_error {
 public:
  enum class Cause { kNoPrivilege, kNoBtf, kKernelRejected };
  ProbeError(Cause cause, const std::string& message)
      : std::runtime_error(message), cause_(cause) {}
  Cause cause() const { return cause_; }

 private:
  Cause cause_;
};

class ProcessProbes {
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
  bool tracks_exec_failures() const { return tracks_exec_failures_; }
  std::vector<std::string> attached_programs() const;

 private:
  struct SkeletonDeleter {
    void operator()(execmond_bpf* skeleton) const;
  };
  using Skeleton = std::unique_ptr<execmond_bpf, SkeletonDeleter>;

  ProcessProbes(Skeleton skeleton, bool tracks_exec_time, bool tracks_exec_failures);
  static Skeleton load(const ProbeOptions& options, bool with_task_storage,
                       bool with_exec_failures);

  Skeleton skeleton_;
  bool tracks_exec_time_;
  bool tracks_exec_failures_;
  int possible_cpus_;
};

}  // namespace execmond

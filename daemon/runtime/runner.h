// SPDX-License-Identifier: Apache-2.0
// What `execmond` and `execmond trace` do alike, written once: log, take over the
// signals, attach the programs, read the ring buffer, and end on a signal or when the
// reader fails, with the same exit code for the same error.
#pragma once

#include <spdlog/common.h>

#include <chrono>
#include <memory>
#include <optional>

#include "bpf/process_probes.h"
#include "bpf/ring_buffer_reader.h"
#include "service/service_signals.h"

namespace execmond {

class Runner {
 public:
  // Sets up logging and blocks the service signals: construct it before any thread.
  explicit Runner(spdlog::level::level_enum log_level);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Loads and attaches the programs. On failure logs one line saying what to do and
  // returns the exit code for it; nothing stays attached.
  std::optional<int> attach(const ProbeOptions& options);
  ProcessProbes& probes() { return *probes_; }

  void start_reader(RecordSink& sink, std::chrono::milliseconds poll_interval,
                    RingBufferReader::Heartbeat heartbeat = {});
  RingBufferReader& reader() { return *reader_; }

  // What woke wait().
  enum class Wake { kShutdown, kReload, kReaderFailed, kServerFailed };
  struct Event {
    Wake wake;
    int signal;  // for kShutdown and kReload
  };
  // Blocks until SIGTERM/SIGINT (kShutdown), SIGHUP (kReload), the reader's failure or,
  // when `server_failure_fd` is given, the /metrics server's (readable when it failed).
  Event wait(int server_failure_fd = -1);

  // Drains and stops the reader, then detaches the programs; idempotent.
  void stop_reader();
  void detach();

 private:
  ServiceSignals signals_;
  std::unique_ptr<ProcessProbes> probes_;
  std::unique_ptr<RingBufferReader> reader_;
};

// "SIGTERM", "SIGINT", "SIGHUP".
const char* service_signal_name(int signal);

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// The thread that drains the BPF ring buffer and hands each record to a sink.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "events/record_sink.h"
#include "service/file_descriptor.h"

struct ring_buffer;

namespace execmond {

class RingBufferReader {
 public:
  // Called on the reader thread once per loop, at least every poll interval: proof of
  // life for a watchdog.
  using Heartbeat = std::function<void()>;

  // The kernel wakes the reader only when enough data waits (see ProbeOptions); every
  // `poll_interval` it drains whatever arrived without a wake-up.
  RingBufferReader(int ring_buffer_fd, RecordSink& sink, std::chrono::milliseconds poll_interval,
                   Heartbeat heartbeat = {});
  // Stops the thread after a last drain.
  ~RingBufferReader();
  RingBufferReader(const RingBufferReader&) = delete;
  RingBufferReader& operator=(const RingBufferReader&) = delete;

  // Drains what is left, then returns; safe to call more than once.
  void stop();

  // Runs `work` on the reader thread between two drains: the way to change what only
  // the reader may touch (the aggregator's tables) while it runs. Any thread.
  void post(std::function<void()> work);
  void set_poll_interval(std::chrono::milliseconds poll_interval);

  // Readable once the thread has ended on an error (never after a stop()): the
  // process must not go on serving numbers nobody updates.
  int failure_fd() const { return failed_event_.get(); }
  // What ended it; empty while it runs.
  std::string failure() const;

 private:
  struct RingBufferDeleter {
    void operator()(ring_buffer* rb) const;
  };

  static int deliver_with_fault(void* ctx, void* data, std::size_t size);
  void run();
  void loop();
  void run_posted_work();
  void fail(const std::string& why);

  // EXECMOND_INJECT_READER_FAULT_AFTER (a test knob): fail after `remaining` records.
  struct InjectedFault {
    RecordSink* sink;
    std::uint64_t remaining;
  };

  InjectedFault injected_fault_;
  std::atomic<int> poll_interval_ms_;
  Heartbeat heartbeat_;
  std::unique_ptr<ring_buffer, RingBufferDeleter> ring_buffer_;
  FileDescriptor stop_event_;    // eventfd: wakes the thread for shutdown
  FileDescriptor work_event_;    // eventfd: wakes the thread for posted work
  FileDescriptor failed_event_;  // eventfd: the thread ended on an error
  FileDescriptor epoll_;         // the ring buffer's readiness, stop_event_ and work_event_
  std::mutex work_mutex_;
  std::vector<std::function<void()>> work_;  // guarded by work_mutex_
  mutable std::mutex failure_mutex_;
  std::string failure_;  // guarded by failure_mutex_
  std::thread thread_;
};

}  // namespace execmond

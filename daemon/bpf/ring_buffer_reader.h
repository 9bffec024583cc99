// The thread that drains the BPF ring buffer and hands each record to a sink.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>

#include "service/file_descriptor.h"

struct ring_buffer;

namespace execmond {

// Receives every record, on the reader thread, while the ring buffer still holds it.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void on_record(const void* data, std::size_t size) = 0;
};

class RingBufferReader {
 public:
  // The kernel wakes the reader only when enough data waits (see ProbeOptions); every
  // `poll_interval` it drains whatever arrived without a wake-up.
  RingBufferReader(int ring_buffer_fd, RecordSink& sink, std::chrono::milliseconds poll_interval);
  // Stops the thread after a last drain.
  ~RingBufferReader();
  RingBufferReader(const RingBufferReader&) = delete;
  RingBufferReader& operator=(const RingBufferReader&) = delete;

  // Drains what is left, then returns; safe to call more than once.
  void stop();

 private:
  struct RingBufferDeleter {
    void operator()(ring_buffer* rb) const;
  };

  void run();

  RecordSink& sink_;
  std::chrono::milliseconds poll_interval_;
  std::unique_ptr<ring_buffer, RingBufferDeleter> ring_buffer_;
  FileDescriptor stop_event_;  // eventfd: wakes the thread for shutdown
  FileDescriptor epoll_;       // the ring buffer's readiness and stop_event_
  std::thread thread_;
};

}  // namespace execmond

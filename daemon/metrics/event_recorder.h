// The daemon's ring buffer sink: decodes each record and counts it.
#pragma once

#include <cstdint>

#include "binaries/unexpected_binaries.h"
#include "bpf/ring_buffer_reader.h"
#include "metrics/process_metrics.h"

namespace execmond {

class EventRecorder : public RecordSink {
 public:
  explicit EventRecorder(ProcessMetrics& metrics) : metrics_(metrics) {}
  // Binary records go to `binaries`; without it (before it exists) they are ignored.
  // Before the reader starts.
  void send_binaries_to(UnexpectedBinaries* binaries) { binaries_ = binaries; }

  // The hot path: no allocation, no lock, no system call for a name already seen.
  void on_record(const void* data, std::size_t size) override;

 private:
  ProcessMetrics& metrics_;
  UnexpectedBinaries* binaries_ = nullptr;
  std::uint64_t malformed_records_ = 0;
};

}  // namespace execmond

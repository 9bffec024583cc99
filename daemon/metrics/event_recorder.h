// The daemon's ring buffer sink: decodes each record and counts it.
#pragma once

#include <cstdint>

#include "events/record_sink.h"
#include "metrics/process_metrics.h"

namespace execmond {

class EventRecorder : public RecordSink {
 public:
  explicit EventRecorder(ProcessMetrics& metrics) : metrics_(metrics) {}

  // The hot path: no allocation, no lock, no system call for a name already seen.
  void on_record(const void* data, std::size_t size) override;

 private:
  ProcessMetrics& metrics_;
  std::uint64_t malformed_records_ = 0;
};

}  // namespace execmond

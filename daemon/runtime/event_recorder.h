// SPDX-License-Identifier: Apache-2.0
// The daemon's ring buffer sink: decodes each record and counts it.
#pragma once

#include <cstdint>

#include "binaries/unexpected_binaries.h"
#include "cgroups/cgroup_resolver.h"
#include "events/record_sink.h"
#include "metrics/process_metrics.h"

namespace execmond {

class EventRecorder : public RecordSink {
 public:
  // `cgroups` resolves the records' cgroup ids when the metrics have a unit or container
  // label; it may be null otherwise.
  EventRecorder(ProcessMetrics& metrics, CgroupResolver* cgroups)
      : metrics_(metrics), cgroups_(cgroups) {}
  explicit EventRecorder(ProcessMetrics& metrics) : EventRecorder(metrics, nullptr) {}
  // Binary records go to `binaries`; without it (before it exists) they are ignored.
  // Before the reader starts.
  void send_binaries_to(UnexpectedBinaries* binaries) { binaries_ = binaries; }

  // The hot path: no allocation, no lock, no system call for a series and a cgroup
  // already seen.
  void on_record(const void* data, std::size_t size) override;

 private:
  SeriesKey key_of(const execmond_event_header& hdr);

  ProcessMetrics& metrics_;
  CgroupResolver* cgroups_;
  UnexpectedBinaries* binaries_ = nullptr;
  std::uint64_t malformed_records_ = 0;
};

}  // namespace execmond

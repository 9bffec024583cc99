// SPDX-License-Identifier: Apache-2.0
// Where the ring buffer reader hands each record: the aggregator, or the trace printer.
#pragma once

#include <cstddef>

namespace execmond {

// Receives every record, on the reader thread, while the ring buffer still holds it.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void on_record(const void* data, std::size_t size) = 0;
};

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// Output that shutdown can interrupt: `execmond trace` must end on SIGTERM even when
// whoever holds the other end of its stdout has stopped reading.
#pragma once

#include <atomic>
#include <string_view>

#include "service/file_descriptor.h"

namespace execmond {

class LineWriter {
 public:
  explicit LineWriter(int fd);

  // Writes all of `text`, waiting for room as long as it takes, unless cancelled.
  // False once cancelled or when the output failed.
  bool write(std::string_view text);
  // From any thread: abandons the write in progress and every later one.
  void cancel();

 private:
  int fd_;
  FileDescriptor cancelled_;  // eventfd
};

}  // namespace execmond

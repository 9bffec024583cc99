// SPDX-License-Identifier: Apache-2.0
// One structured line per unexpected exec: what ran, who ran it.
#pragma once

#include "binaries/resolved_binary.h"
#include "events/records.h"

namespace execmond {

class UnexpectedExecLog {
 public:
  // To the journal with one field per fact when started by systemd with its output on
  // the journal (JOURNAL_STREAM), else a plain line through spdlog.
  UnexpectedExecLog();
  explicit UnexpectedExecLog(bool to_journal) : to_journal_(to_journal) {}

  void write(const execmond_binary_event& e, const ResolvedBinary& binary) const;

 private:
  bool to_journal_;
};

}  // namespace execmond

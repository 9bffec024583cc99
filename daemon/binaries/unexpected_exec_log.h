// SPDX-License-Identifier: Apache-2.0
// One structured line per unexpected exec: what ran, named as it was judged, why it was
// unexpected, who ran it, and from where (the process's own view is context).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "binaries/binary_judge.h"
#include "binaries/judging_view.h"
#include "binaries/log_budget.h"
#include "events/records.h"

namespace execmond {

struct UnexpectedExec {
  const execmond_event_header* hdr = nullptr;  // pid, ppid, uid, gid, comm, parent_comm
  execmond_binary_id binary{};
  std::uint32_t binary_flags = 0;
  std::string_view path;  // the judged name
  UnexpectedReason reason = UnexpectedReason::kNotAllowed;
  JudgingView view = JudgingView::kHost;
  const ExecContext* context = nullptr;  // null: not known (the process had ended)
  // From the binary record; empty for an exec counted from a cached verdict.
  const ExecVerdict* verdict = nullptr;
  std::string_view process_path;  // the file as the process named it
  std::string_view script_given;  // what the caller passed, for a script
  std::string_view cwd;           // the caller's working directory, when sent
  std::string_view sha256;        // its content; empty: not known yet (the digest follows)
  bool cached = false;            // counted from the daemon's verdict cache
  std::uint64_t execs = 1;        // more than one: execs that waited for a content verdict
};

// One line's facts, owned: what a line held back for its budget keeps until it is written.
struct UnexpectedExecLine {
  struct Fact {
    const char* journal;  // journald field name
    const char* key;      // logfmt key
    std::string value;
  };
  std::vector<Fact> facts;
};

class UnexpectedExecLog {
 public:
  // To the journal with one field per fact when started by systemd with its output on
  // the journal (JOURNAL_STREAM), else a logfmt line through spdlog.
  enum class Output { kJournal, kStderr, kNone };
  UnexpectedExecLog();
  explicit UnexpectedExecLog(Output output) : output_(output) {}
  explicit UnexpectedExecLog(bool to_journal)
      : output_(to_journal ? Output::kJournal : Output::kStderr) {}

  void write(const UnexpectedExec& exec) const { write(line_of(exec)); }
  // The facts of a line, to write now or later (with `held_ms`: how long it waited).
  static UnexpectedExecLine line_of(const UnexpectedExec& exec);
  void write(const UnexpectedExecLine& line) const;
  // The lines the budgets held back in the last second (log_budget.h).
  void write_summary(const LogBudget::Summary& summary) const;
  // The content of an unexpected file whose exec was logged before its digest came
  // (issue 14): one line per file version.
  void write_content(std::string_view path, UnexpectedReason reason, std::string_view sha256,
                     const execmond_binary_id& binary) const;

 private:
  Output output_;
};

}  // namespace execmond

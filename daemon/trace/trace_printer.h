// SPDX-License-Identifier: Apache-2.0
// How `execmond trace` writes events: a table for people, JSON lines for programs.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "binaries/binary_judge.h"
#include "binaries/judging_view.h"
#include "binaries/unexpected_reason.h"
#include "events/records.h"
#include "trace/wall_clock.h"

namespace execmond {

// Arguments shown per exec at most; the kernel also stops at EXECMOND_ARGS_LEN bytes.
inline constexpr std::size_t kMaxTracedArgs = 64;

// What the binaries pipeline made of an exec's binary record (binaries/binary_judge.h),
// with the record's own facts a line shows.
struct TracedBinary {
  ExecVerdict verdict;
  ExecContext context;
  std::uint32_t binary_flags = 0;
  std::string process_path;  // the file as the process named it
  std::string script_given;  // what the caller passed, for a script
  std::string cwd;           // sent for relative scripts and loaders
};

// What a file's content turned out to be, once its digest (or a verdict that waited for
// it) came: after the exec lines of that file (issue 14).
struct TracedContent {
  std::uint64_t time_ns = 0;   // CLOCK_BOOTTIME, when it came
  std::string_view path;       // the name the file was judged by
  std::string_view sha256;     // empty: unknown
  bool final_verdict = false;  // the verdict waited for this: `unexpected` is the file's
  bool unexpected = false;
  UnexpectedReason reason = UnexpectedReason::kNotAllowed;
  std::string_view grounds;  // "package coreutils", "runtime copy of /usr/sbin/runc", ...
  execmond_binary_id binary{};
};

class TracePrinter {
 public:
  virtual ~TracePrinter() = default;
  // Text printed before the first event (the table's header), possibly empty.
  virtual std::string header() const = 0;
  // Each appends one line, newline included, to `line`. `unit` is the unit label of the
  // record's cgroup (cgroups/cgroup_names.h); `binary` the exec's judged binary, when
  // its binary record was seen.
  virtual void format(std::string& line, const execmond_exec_event& e, std::string_view unit,
                      const TracedBinary* binary) const = 0;
  virtual void format(std::string& line, const execmond_exit_event& e,
                      std::string_view unit) const = 0;
  virtual void format(std::string& line, const execmond_exec_failed_event& e,
                      std::string_view unit) const = 0;
  // A file's content, known after its exec line (the table shows none).
  virtual void format(std::string& line, const TracedContent& content) const {
    (void)line;
    (void)content;
  }
};

// `show_verdicts`: an unexpected exec's line ends with "[unexpected REASON: PATH]".
std::unique_ptr<TracePrinter> make_table_printer(const WallClock& clock,
                                                 bool show_verdicts = false);
std::unique_ptr<TracePrinter> make_json_printer(const WallClock& clock);

}  // namespace execmond

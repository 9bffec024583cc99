// SPDX-License-Identifier: Apache-2.0
// Judges what an exec ran, from its binary record: the file the kernel ran, named as the
// host sees it (or, in a rootful container, as the container does); for a script, the
// file it was given too; for a dynamic loader, the program it loads. Everything the
// process controls (its root, mounts, cwd, argv, the string it passed) is resolved the
// way the kernel resolved it, or is context, never the verdict's key.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "binaries/binary_allow_list.h"
#include "binaries/host_loaders.h"
#include "binaries/host_paths.h"
#include "binaries/judging_view.h"
#include "binaries/unexpected_reason.h"
#include "events/records.h"

namespace execmond {

// A file's ctime must be this much older than a verdict's start for the verdict to be
// cached: a file changed twice within one coarse timestamp tick keeps its ctime, and no
// kernel's tick is longer (DESIGN-identity.md, "Versions of a file").
inline constexpr std::uint64_t kVersionSettleNs = 20'000'000;

struct FileVerdict {
  FileVerdict() = default;
  FileVerdict(bool allowed_, bool pending_, UnexpectedReason reason_, std::string name_,
              bool cacheable_, std::string sha256_ = {})
      : allowed(allowed_),
        pending(pending_),
        reason(reason_),
        name(std::move(name_)),
        cacheable(cacheable_),
        sha256(std::move(sha256_)) {}
  bool allowed = false;
  bool pending = false;  // the content judge has not answered yet (then `allowed` for now)
  UnexpectedReason reason = UnexpectedReason::kNotAllowed;
  std::string name;        // the name it was judged by, or the best one known
  bool cacheable = false;  // a fact of the identity, not of this exec: the kernel may keep it
  std::string sha256;      // its content (issue 14), when the content judge knew it
};

// How a script's file (or a loader's program) was found.
enum class ResolutionMethod {
  kNone,         // not a script
  kKernelHook,   // SCRIPT_SEEN: the kernel's own identity of the file
  kProcessWalk,  // walked through /proc/PID/root and /proc/PID/cwd
  kHostWalk,     // the process had ended: walked from the host's root (host view only)
  kUnresolved,   // could not be: see the reason
};
std::string_view method_name(ResolutionMethod method);

struct ExecVerdict {
  bool allowed = false;
  UnexpectedReason reason = UnexpectedReason::kNotAllowed;
  std::string path;  // the label: the name of what made it unexpected
  JudgingView view = JudgingView::kHost;
  FileVerdict executable;  // the file the kernel ran: a script's interpreter, a handler
  bool loader = false;     // the executable is a dynamic loader
  // Scripts (binfmt_script, binfmt_misc): the file the interpreter was given.
  bool script = false;
  FileVerdict script_file;
  ResolutionMethod method = ResolutionMethod::kNone;
  // Loaders: what the loader runs; `program` empty when it runs none.
  std::string program_given;
  std::optional<FileVerdict> program;
  std::string loader_note;  // "maps only", "runs no program", …
};

class BinaryJudge {
 public:
  using Clock = std::function<std::uint64_t()>;  // ns

  // `host` and `loaders` outlive the judge. The clocks: CLOCK_REALTIME (ctimes) and
  // CLOCK_BOOTTIME (the records' timestamps).
  BinaryJudge(HostPaths& host, const HostLoaders& loaders, Clock realtime = {},
              Clock boottime = {});

  // The list names are judged by; null: judge nothing (every verdict "allowed").
  void set_allow_list(const BinaryAllowList* allow_list) { allow_list_ = allow_list; }

  static ExecContext context_of(const execmond_exec_context& ctx);

  // The file of the record's key, in `view`. Not for a LOADER record without names.
  FileVerdict judge_executable(const execmond_binary_event& e, JudgingView view);
  // Whether the record's file is a dynamic loader (the host's, or named like one).
  bool is_loader(const execmond_binary_event& e, JudgingView view,
                 const FileVerdict& executable) const;
  // Everything else the exec ran, given the executable's verdict: fills `verdict`.
  void judge_exec(const execmond_binary_event& e, const FileVerdict& executable,
                  bool executable_is_loader, ExecVerdict& verdict);

  // Call before judging a record: the verdict's start, for kVersionSettleNs.
  void start() { started_ns_ = realtime_(); }

 private:
  struct Resolved;
  FileVerdict by_name(std::string_view name) const;
  bool settled(std::uint64_t ctime_ns) const { return ctime_ns + kVersionSettleNs <= started_ns_; }
  std::uint64_t exec_realtime_ns(const execmond_binary_event& e) const;
  Resolved resolve(const execmond_binary_event& e, const ExecContext& context, JudgingView view,
                   std::string_view given) const;
  std::uint32_t superblock_dev(const Resolved& resolved, const FileFacts& facts) const;
  FileVerdict name_resolved(const Resolved& resolved, const ExecContext& context,
                            JudgingView view) const;
  void judge_script(const execmond_binary_event& e, const ExecContext& context, JudgingView view,
                    ExecVerdict& verdict);
  void judge_loader_program(const execmond_binary_event& e, const ExecContext& context,
                            JudgingView view, ExecVerdict& verdict);

  HostPaths& host_;
  const HostLoaders& loaders_;
  const BinaryAllowList* allow_list_ = nullptr;
  Clock realtime_;
  Clock boottime_;
  std::uint64_t started_ns_ = 0;
};

}  // namespace execmond

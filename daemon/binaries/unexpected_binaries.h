// SPDX-License-Identifier: Apache-2.0
// The binaries stage, on the ring buffer reader's thread: judges each binary record
// (binary_judge.h), writes the verdict of each judged file back to the kernel, keeps it
// in its own cache, counts and logs unexpected execs, including those the kernel flags
// UNEXPECTED or PENDING from its cache without a record.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "binaries/binary_allow_list.h"
#include "binaries/binary_judge.h"
#include "binaries/binary_verdict_cache.h"
#include "binaries/content_judge.h"
#include "binaries/content_metrics.h"
#include "binaries/host_loaders.h"
#include "binaries/log_budget.h"
#include "binaries/unexpected_exec_log.h"
#include "binaries/verdict_cache.h"
#include "events/records.h"
#include "metrics/unexpected_binary_metrics.h"

namespace execmond {

// The path of an UNEXPECTED exec whose verdict the daemon no longer holds (evicted, or
// the list changed while it was in flight): counted, never dropped.
inline constexpr std::string_view kEvictedPath = "execmond_evicted";

class UnexpectedBinaries {
 public:
  enum class KernelVerdicts {
    kAll,          // the daemon: every cacheable verdict goes to the kernel
    kLoadersOnly,  // `execmond trace`: only LOADER, so that every exec sends its record
  };

  UnexpectedBinaries(BinaryVerdictCache& kernel_cache, UnexpectedBinaryMetrics& metrics,
                     const UnexpectedExecLog& log, BinaryJudge& judge, const HostLoaders& loaders,
                     KernelVerdicts kernel_verdicts = KernelVerdicts::kAll);

  // Reader thread. Judges the record; an unexpected exec is counted and logged (unless a
  // budget says no). Returns the verdict (valid until the next call), or null when
  // binaries are not judged (no list).
  const ExecVerdict* on_binary(const execmond_binary_event& e);
  // Reader thread: an exec the kernel answered from its cache (UNEXPECTED or PENDING);
  // any other is ignored. No allocation, lock or system call unless it is logged.
  void on_exec(const execmond_exec_event& e);
  // Reader thread: the final answer of the content judge for `key`.
  void on_content_verdict(const execmond_binary_id& key, ContentAnswer answer);
  // Reader thread: the digest of `key`'s file, which came after its verdict: later log
  // lines carry it, and an unexpected file is recorded in `unexpected_files`.
  // `name`: what the file was judged by (its verdict may not have been cached).
  void on_content_hash(const execmond_binary_id& key, const ContentAnswer& answer,
                       std::string_view name);
  // Before the reader starts: where unexpected files' contents are recorded (a bounded
  // info metric), or null.
  void set_unexpected_files(UnexpectedFileInfo* files) { unexpected_files_ = files; }
  // Before the reader starts, with `labels: [..., container]`: the container label of an
  // exec's cgroup, on the reader thread (cgroups/cgroup_resolver.h's labels_for()).
  using ContainerOf = std::function<std::string_view(std::uint64_t cgroup_id)>;
  void set_container_labels(ContainerOf container_of) { container_of_ = std::move(container_of); }
  // Reader thread, at least once a second (the reader's heartbeat): late content
  // verdicts and the log budget's summary. `now_ns`: CLOCK_BOOTTIME.
  void tick(std::uint64_t now_ns);

  // Reader thread (post it there on reload): judge by `allow_list` from now on, or by
  // nothing (nullopt: the section is gone; records in flight are then ignored). Forgets
  // every verdict, here and in the kernel, then teaches the kernel the host's loaders.
  // Counters keep their values.
  void replace_allow_list(std::optional<BinaryAllowList> allow_list);
  bool judging() const { return allow_list_.has_value(); }
  // Before the reader starts.
  void set_content_judge(ContentJudge* judge) { content_ = judge; }

  // For tests and the benchmark.
  const VerdictCache& verdicts() const { return verdicts_; }
  std::size_t pending_files() const { return pending_.size(); }
  // Content verdicts never answered within this long are given up: the execs waiting
  // for them are counted by their name's verdict.
  // Longer than the content judge can take: a digest waits at most 5 minutes in its queue
  // (a 4 GiB file then takes a minute) and a verdict held for the package manager 10
  // (content_identity.h).
  static constexpr std::uint64_t kContentDeadlineNs = 1200'000'000'000;
  static constexpr std::size_t kMaxPendingFiles = 4096;
  // First lines of new files held back by their owner's budget, written (newest first)
  // as soon as it has room again: after a flood, the next new binary is logged at the
  // owner's next token (0.1 s) instead of never. The oldest beyond this are dropped.
  static constexpr std::size_t kMaxHeldLines = 64;
  std::size_t held_lines() const { return held_.size(); }

 private:
  struct KeyHash {
    std::size_t operator()(const execmond_binary_id& key) const {
      return static_cast<std::size_t>(key.ino * 0x9e3779b97f4a7c15ull ^ key.ctime_ns ^
                                      (std::uint64_t{key.dev} << 32) ^ key.view);
    }
  };
  struct KeyEqual {
    bool operator()(const execmond_binary_id& a, const execmond_binary_id& b) const {
      return same_key(a, b);
    }
  };
  // Execs waiting for a content verdict, by the comm they ran as (a few kept apart).
  struct PendingFile {
    ExecVerdict verdict;  // the first exec's, its name judged
    execmond_event_header hdr{};
    std::uint32_t binary_flags = 0;
    std::optional<ExecContext> context;
    std::vector<std::pair<CommName, std::uint64_t>> execs;
    std::uint64_t deadline_ns = 0;
    bool cacheable = false;
  };

  FileVerdict executable_verdict(const execmond_binary_event& e, JudgingView view, bool& is_loader,
                                 CachedVerdict*& entry);
  void remember(const execmond_binary_id& key, const FileVerdict& verdict, JudgingView view,
                bool loader, bool pending);
  void write_kernel(CachedVerdict& entry, execmond_verdict verdict);
  void count(CachedVerdict* entry, const UnexpectedExec& exec, const CommName& comm,
             std::uint64_t execs);
  void resolve_pending(const execmond_binary_id& key, PendingFile& file,
                       const ContentAnswer& answer);
  static void add_pending_exec(PendingFile& file, const CommName& comm);
  void seed_loaders();
  // This process's own executable, allowed: see the .cpp.
  void seed_own_binary();
  void hold(const UnexpectedExec& exec, const CommName& comm);
  void release_held(std::uint64_t now_ns);
  TokenBucket& path_bucket(std::string_view path);

  BinaryVerdictCache& kernel_cache_;
  UnexpectedBinaryMetrics& metrics_;
  const UnexpectedExecLog& log_;
  BinaryJudge& judge_;
  const HostLoaders& loaders_;
  KernelVerdicts kernel_verdicts_;
  ContentJudge* content_ = nullptr;
  UnexpectedFileInfo* unexpected_files_ = nullptr;
  ContainerOf container_of_;
  double content_line_tokens_ = 100;  // on_content_hash()'s log lines
  double content_line_s_ = 0;
  std::optional<BinaryAllowList> allow_list_;
  VerdictCache verdicts_;
  LogBudget log_budget_;
  std::vector<std::pair<std::uint64_t, TokenBucket>> path_buckets_;  // per-exec verdicts' budgets
  std::unordered_map<execmond_binary_id, PendingFile, KeyHash, KeyEqual> pending_;
  struct HeldLine {
    UnexpectedExecLine line;
    std::uint32_t uid;
    CommName comm;
    std::uint64_t cgroup_id;
    std::uint64_t exec_ns;
  };
  std::deque<HeldLine> held_;  // the newest at the back
  ExecVerdict verdict_;        // the last record's, returned by on_binary()
  std::uint32_t host_mntns_;
};

}  // namespace execmond

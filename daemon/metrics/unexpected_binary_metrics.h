// SPDX-License-Identifier: Apache-2.0
// execmond_unexpected_execs_total{path,comm,reason}: execs of binaries the allow-list does
// not admit, in a bounded table where no one user, process name or cgroup can take more
// than its share of the series.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "events/records.h"
#include "metrics/metric_writer.h"
#include "metrics/running_total.h"
#include "metrics/series_table.h"

namespace execmond {

// Every label value of one series: the path (zero-filled after it), the comm and the
// reason (a bounded set of short words, binaries/unexpected_reason.h).
struct UnexpectedExecKey {
  static constexpr std::size_t kReasonCapacity = 16;
  // The container label ("podman:0123456789ab", cgroups/cgroup_names.h), or empty.
  static constexpr std::size_t kContainerCapacity = 48;
  UnexpectedExecKey() = default;
  UnexpectedExecKey(std::string_view path_bytes, const CommName& name, std::string_view reason,
                    std::string_view container_label = {});

  char path[EXECMOND_PATH_LEN] = {};
  char comm[CommName::kCapacity] = {};
  char reason[kReasonCapacity] = {};
  char container[kContainerCapacity] = {};
};

// Label values, rendered once per series as comm_label.h renders a comm: the path's bytes
// escaped losslessly into valid UTF-8. A path starts with "/", which escaping keeps, or
// is one of the daemon's own words in parentheses or "execmond_evicted", so none renders
// to the overflow value kOverflowPathLabel.
struct UnexpectedExecLabels {
  explicit UnexpectedExecLabels(const UnexpectedExecKey& key);
  UnexpectedExecLabels(std::string path_label, std::string comm_label, std::string reason_label)
      : path(std::move(path_label)), comm(std::move(comm_label)), reason(std::move(reason_label)) {}
  static UnexpectedExecLabels overflow();

  std::string path;  // allocated once, when the series is created
  std::string comm;
  std::string reason;
  std::string container;  // shown only with labels: [..., container]
};

inline constexpr std::string_view kOverflowPathLabel = "execmond_overflow";

struct AdmitEveryKey {
  bool admits(const UnexpectedExecKey&) const { return true; }
};

// Who ran an exec, for the per-owner budgets.
struct UnexpectedExecOwner {
  std::uint32_t uid = 0;
  std::uint64_t cgroup_id = 0;  // the unit's cgroup (or one below it)
};

// The cgroup v2 root directory's inode number: processes there belong to no unit, and no
// budget is kept for it (on a host without systemd, every process is there).
inline constexpr std::uint64_t kRootCgroupId = 1;

// Written by the reader thread; Collect() from any number of scrapes at once.
//   execmond_unexpected_execs_total{path,comm,reason}   counter
//   execmond_unexpected_series, execmond_unexpected_series_limit   gauges
//   execmond_unexpected_overflow_execs_total           counter
//   execmond_unexpected_exec_logs_suppressed_total     counter
class UnexpectedBinaryMetrics : public Collector {
 public:
  // Distinct (path, comm, reason) with their own series; later ones share
  // path="execmond_overflow" (every label execmond_overflow). A flood of random /tmp
  // names costs at most this many series (~1.1 KiB each plus the label text).
  static constexpr std::size_t kMaxSeries = 1000;
  // No uid, comm or cgroup (but the root's) creates more than this many: a flood by one
  // user (whose uid it cannot change), under one name or in one unit leaves the rest for
  // everyone else.
  static constexpr std::size_t kMaxSeriesPerOwner = kMaxSeries / 4;

  // `container_label`: series carry the container too (`labels: [comm, unit, container]`:
  // an exec in a container, drift above all, names it).
  explicit UnexpectedBinaryMetrics(bool container_label = false)
      : table_(kMaxSeries, kMaxSeries, AdmitEveryKey{}), container_label_(container_label) {}
  bool container_label() const { return container_label_; }

  // Where an exec is counted: its own series, or the overflow. Resolve once per
  // (path, comm, reason) and keep it: count() is then one relaxed add.
  class Series {
   public:
    Series() = default;
    bool overflow() const { return stats_ == nullptr; }

   private:
    friend class UnexpectedBinaryMetrics;
    explicit Series(RunningTotal<std::uint64_t>* stats) : stats_(stats) {}
    RunningTotal<std::uint64_t>* stats_ = nullptr;
  };

  // Reader thread. The series of (path, comm, reason), created if the table and the
  // owner's budgets allow (allocates then: ~1 KiB key and the labels), else the overflow.
  Series series_for(std::string_view path, const CommName& comm, std::string_view reason,
                    const UnexpectedExecOwner& owner, std::string_view container = {});
  // Reader thread: one unexpected exec. No allocation, no lookup.
  void count(Series series, std::uint64_t execs = 1);
  // Reader thread: one unexpected exec, looked up (the slow path, for tests and rare
  // callers).
  void record_exec(std::string_view path, const CommName& comm, std::string_view reason,
                   const UnexpectedExecOwner& owner = {}) {
    count(series_for(path, comm, reason, owner));
  }
  // Reader thread: a log line the rate limits held back.
  void record_log_suppressed(std::uint64_t lines = 1) { logs_suppressed_.add(lines); }

  std::uint64_t overflow_execs() const { return overflow_.value(); }
  std::size_t series_count() const { return table_.series_count(); }

  void collect(MetricWriter& out) const override;

 private:
  struct Stats {
    RunningTotal<std::uint64_t> execs;
  };
  bool within_budget(const UnexpectedExecOwner& owner, const CommName& comm) const;

  SeriesTable<UnexpectedExecKey, Stats, UnexpectedExecLabels, AdmitEveryKey> table_;
  // Reader thread only: which keys have a series (by a 64-bit hash of the key), and
  // how many series each owner created.
  std::unordered_set<std::uint64_t> created_;
  std::unordered_map<std::uint32_t, std::uint32_t> series_by_uid_;
  std::unordered_map<std::uint64_t, std::uint32_t> series_by_cgroup_;
  std::unordered_map<std::string, std::uint32_t> series_by_comm_;
  RunningTotal<std::uint64_t> overflow_;
  RunningTotal<std::uint64_t> logs_suppressed_;
  bool container_label_ = false;
};

}  // namespace execmond

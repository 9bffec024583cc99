// execmond_unexpected_execs_total{path,comm}: execs of binaries the allow-list does not
// admit, in a bounded table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/records.h"
#include "metrics/metric_writer.h"
#include "metrics/running_total.h"
#include "metrics/series_table.h"

namespace execmond {

// Every label value of one series: the path (zero-filled after it) and the comm.
struct UnexpectedExecKey {
  UnexpectedExecKey() = default;
  UnexpectedExecKey(std::string_view path_bytes, const CommName& name);

  char path[EXECMOND_PATH_LEN] = {};
  char comm[CommName::kCapacity] = {};
};

// Label values, rendered once per series as comm_label.h renders a comm: the path's bytes
// escaped losslessly into valid UTF-8. A path starts with "/", which escaping keeps, or
// is "(unresolved)" (binaries/resolved_binary.h), so none renders to the overflow value
// kOverflowPathLabel.
struct UnexpectedExecLabels {
  explicit UnexpectedExecLabels(const UnexpectedExecKey& key);
  UnexpectedExecLabels(std::string path_label, std::string comm_label)
      : path(std::move(path_label)), comm(std::move(comm_label)) {}
  static UnexpectedExecLabels overflow();

  std::string path;  // allocated once, when the series is created
  std::string comm;
};

inline constexpr std::string_view kOverflowPathLabel = "execmond_overflow";

struct AdmitEveryKey {
  bool admits(const UnexpectedExecKey&) const { return true; }
};

// Written by the reader thread; Collect() from any number of scrapes at once.
//   execmond_unexpected_execs_total{path,comm}         counter
//   execmond_unexpected_series, execmond_unexpected_series_limit   gauges
//   execmond_unexpected_overflow_execs_total           counter
//   execmond_unexpected_exec_logs_suppressed_total     counter
class UnexpectedBinaryMetrics : public Collector {
 public:
  // Distinct (path, comm) pairs with their own series; later ones share
  // path="execmond_overflow", comm="execmond_overflow". A flood of random /tmp names
  // costs at most this many series (~1.1 KiB each plus the label text).
  static constexpr std::size_t kMaxSeries = 1000;

  UnexpectedBinaryMetrics() : table_(kMaxSeries, kMaxSeries, AdmitEveryKey{}) {}

  // Reader thread: one unexpected exec. No allocation once the pair has a series.
  void record_exec(std::string_view path, const CommName& comm);
  // Reader thread: a log line the rate limiter held back.
  void record_log_suppressed() { logs_suppressed_.add(1); }

  void collect(MetricWriter& out) const override;

 private:
  struct Stats {
    RunningTotal<std::uint64_t> execs;
  };
  SeriesTable<UnexpectedExecKey, Stats, UnexpectedExecLabels, AdmitEveryKey> table_;
  RunningTotal<std::uint64_t> logs_suppressed_;
};

}  // namespace execmond

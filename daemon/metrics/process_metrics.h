// The aggregator: process events in, metric families out.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "events/comm_filter.h"
#include "events/records.h"
#include "metrics/comm_label.h"
#include "metrics/metric_writer.h"
#include "metrics/process_stats.h"
#include "metrics/series_key.h"
#include "metrics/series_table.h"

namespace execmond {

// Counts execs, exits and failed execs per series (process name, and unit and container
// when configured) and serves them to Prometheus.
//
// The record_* functions belong to one thread, the ring buffer reader; for a name seen
// before each is a hash, a probe and a few relaxed atomic stores: no allocation, lock
// or syscall. collect() may run on any number of threads at once, concurrently with it.
//
// The metric names and labels are a contract with dashboards and alerts:
//   execmond_execs_total{comm}                     counter
//   execmond_exits_total{comm}                     counter
//   execmond_exits_nonzero_total{comm}             counter
//   execmond_exits_signaled_total{comm,signal}     counter, only signals that occurred
//   execmond_process_duration_seconds{comm}        histogram, duration_buckets.h (and
//                                                  native_buckets.h where the format has
//                                                  native histograms)
//   execmond_exec_failures_total{comm,errno}       counter, only errnos that occurred
//   execmond_comm_series, execmond_comm_series_limit   gauges
//   execmond_comm_overflow_events_total            counter
//   execmond_comm_series_expired_total             counter
// comm is encoded as comm_label.h describes. With unit_label (container_label) every
// per-process metric also carries `unit` (`container`), cgroups/cgroup_names.h.
class ProcessMetrics : public Collector {
 public:
  using Clock = std::chrono::steady_clock;

  // Room for `series_capacity` series (>= settings.max_comm_series) is reserved now, so
  // that apply() can raise the bound up to it.
  ProcessMetrics(const SeriesSettings& settings, std::size_t series_capacity);
  explicit ProcessMetrics(const SeriesSettings& settings)
      : ProcessMetrics(settings, settings.max_comm_series) {}

  // On the thread that records (the daemon posts it to the reader thread on reload):
  // new filters, series bound and TTL, max_comm_series <= series_capacity. No counter is
  // reset; series the new filters exclude stop counting and keep their values.
  void apply(const SeriesSettings& settings);

  // A successful exec; the key's comm is the name after it.
  void record_exec(const SeriesKey& key);
  // A process ended, `lifetime_ns` after its exec (or fork).
  void record_exit(const SeriesKey& key, ExitStatus status, std::uint64_t lifetime_ns);
  // An execve/execveat failed with `error` (a positive errno); the key is the caller's.
  void record_exec_failure(const SeriesKey& key, int error);

  // On the thread that records, often (the reader calls it after every drain): the time
  // events are stamped with, and, at most once a second, the removal of series unseen
  // for series_ttl.
  void maintain(Clock::time_point now);

  bool unit_label() const { return unit_label_; }
  bool container_label() const { return container_label_; }

  void collect(MetricWriter& out) const override;

 private:
  using Series = SeriesTable<SeriesKey, ProcessStats, SeriesLabels, SeriesFilter>;
  const bool unit_label_;
  const bool container_label_;
  std::atomic<bool> lifetime_histogram_;  // written by apply(), read by collect()
  std::uint64_t ttl_ms_;                  // the recording thread's
  std::uint64_t last_expiry_ms_;          // the recording thread's
  Series table_;
};

}  // namespace execmond

#include "metrics/process_metrics.h"

#include <array>
#include <limits>
#include <string_view>
#include <utility>

#include "metrics/duration_buckets.h"
#include "metrics/errno_names.h"
#include "metrics/signal_names.h"

namespace execmond {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// The families in the order Collect() returns them.
enum Family : std::size_t {
  kExecs,
  kExits,
  kExitsNonzero,
  kExitsSignaled,
  kDuration,
  kExecFailures,
  kCommSeries,
  kCommSeriesLimit,
  kOverflowEvents,
  kFamilyCount,
};

struct FamilyDescription {
  const char* name;
  MetricType type;
  const char* help;  // no `\` or newline: prometheus-cpp writes HELP unescaped
};

constexpr FamilyDescription kFamilies[kFamilyCount] = {
    {"execmond_execs_total", MetricType::Counter,
     "Successful execs, by process name after the exec."},
    {"execmond_exits_total", MetricType::Counter, "Process exits, by process name."},
    {"execmond_exits_nonzero_total", MetricType::Counter,
     "Process exits with a non-zero exit code (deaths by signal not included), by process "
     "name."},
    {"execmond_exits_signaled_total", MetricType::Counter,
     "Processes killed by a signal, by process name and signal."},
    {"execmond_process_duration_seconds", MetricType::Histogram,
     "Process lifetimes from exec (or fork, when the exec was not seen) to exit, by process "
     "name."},
    {"execmond_exec_failures_total", MetricType::Counter,
     "Failed execve and execveat calls, by the caller's process name and errno."},
    {"execmond_comm_series", MetricType::Gauge, "Process names that have their own series."},
    {"execmond_comm_series_limit", MetricType::Gauge,
     "Process names that can have their own series (max_comm_series); later names share "
     "comm=\"execmond_overflow\"."},
    {"execmond_comm_overflow_events_total", MetricType::Counter,
     "Events counted under comm=\"execmond_overflow\" because max_comm_series names already "
     "had their own series."},
};

std::vector<MetricFamily> empty_families() {
  std::vector<MetricFamily> families(kFamilyCount);
  for (std::size_t i = 0; i < kFamilyCount; ++i) {
    families[i].name = kFamilies[i].name;
    families[i].help = kFamilies[i].help;
    families[i].type = kFamilies[i].type;
  }
  return families;
}

ClientMetric labelled(std::string_view comm) {
  ClientMetric metric;
  metric.label.push_back({"comm", std::string(comm)});
  return metric;
}

ClientMetric labelled(std::string_view comm, const char* name, std::string_view value) {
  ClientMetric metric = labelled(comm);
  metric.label.push_back({name, std::string(value)});
  return metric;
}

ClientMetric counter(ClientMetric metric, std::uint64_t value) {
  metric.counter.value = static_cast<double>(value);
  return metric;
}

ClientMetric gauge(double value) {
  ClientMetric metric;
  metric.gauge.value = value;
  return metric;
}

ClientMetric counter(std::uint64_t value) { return counter(ClientMetric{}, value); }

// Cumulative counts from one read of the per-bucket counts, and a count equal to the
// +Inf bucket: the exposition stays a valid histogram while exits are being added.
ClientMetric lifetime_histogram(std::string_view comm, const ProcessStats& stats) {
  ClientMetric metric = labelled(comm);
  auto& histogram = metric.histogram;
  histogram.bucket.resize(duration_buckets::kBucketCount);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < duration_buckets::kBucketCount; ++i) {
    cumulative += stats.lifetime_buckets[i].value();
    histogram.bucket[i].cumulative_count = cumulative;
    histogram.bucket[i].upper_bound = i < duration_buckets::kUpperBoundsSeconds.size()
                                          ? duration_buckets::kUpperBoundsSeconds[i]
                                          : std::numeric_limits<double>::infinity();
  }
  histogram.sample_count = cumulative;
  histogram.sample_sum = stats.lifetime_sum_seconds.value();
  return metric;
}

void add_series(std::string_view comm, const ProcessStats& stats,
                std::vector<MetricFamily>& families) {
  families[kExecs].metric.push_back(counter(labelled(comm), stats.execs.value()));
  families[kExits].metric.push_back(counter(labelled(comm), stats.exits.value()));
  families[kExitsNonzero].metric.push_back(counter(labelled(comm), stats.exits_nonzero.value()));
  for (std::size_t slot = 0; slot < kSignalSlots; ++slot) {
    const std::uint64_t deaths = stats.exits_by_signal[slot].value();
    if (deaths == 0) continue;
    families[kExitsSignaled].metric.push_back(
        counter(labelled(comm, "signal", signal_name(static_cast<int>(slot))), deaths));
  }
  // A name that only ever failed to exec has no lifetimes to show.
  ClientMetric lifetimes = lifetime_histogram(comm, stats);
  if (lifetimes.histogram.sample_count > 0)
    families[kDuration].metric.push_back(std::move(lifetimes));
  for (std::size_t slot = 0; slot < kErrnoSlots; ++slot) {
    const std::uint64_t failures = stats.exec_failures_by_errno[slot].value();
    if (failures == 0) continue;
    families[kExecFailures].metric.push_back(
        counter(labelled(comm, "errno", errno_name(static_cast<int>(slot))), failures));
  }
}

}  // namespace

ProcessMetrics::ProcessMetrics(const MetricsOptions& options, std::size_t series_capacity)
    : table_(series_capacity, options.max_comm_series,
             CommFilter(options.include_comms, options.exclude_comms)) {}

void ProcessMetrics::apply(const MetricsOptions& options) {
  table_.apply(options.max_comm_series, CommFilter(options.include_comms, options.exclude_comms));
}

void ProcessMetrics::record_exec(const CommName& comm) {
  ProcessStats* stats = table_.stats_for_event(comm);
  if (stats == nullptr) return;
  stats->execs.add(1);
}

void ProcessMetrics::record_exit(const CommName& comm, ExitStatus status,
                                 std::uint64_t lifetime_ns) {
  ProcessStats* stats = table_.stats_for_event(comm);
  if (stats == nullptr) return;
  stats->exits.add(1);
  if (status.signaled())
    stats->exits_by_signal[signal_slot(status.signal)].add(1);
  else if (status.code != 0)
    stats->exits_nonzero.add(1);
  stats->lifetime_buckets[duration_buckets::bucket_index(lifetime_ns)].add(1);
  stats->lifetime_sum_seconds.add(static_cast<double>(lifetime_ns) * 1e-9);
}

void ProcessMetrics::record_exec_failure(const CommName& comm, int error) {
  ProcessStats* stats = table_.stats_for_event(comm);
  if (stats == nullptr) return;
  stats->exec_failures_by_errno[errno_slot(error)].add(1);
}

std::vector<MetricFamily> ProcessMetrics::Collect() const {
  std::vector<MetricFamily> families = empty_families();
  const std::size_t series = table_.series_count();
  for (std::size_t i = 0; i < series; ++i)
    add_series(table_.series_labels(i).view(), table_.series(i), families);
  const std::uint64_t overflow_events = table_.overflow_events();
  if (overflow_events > 0) add_series(table_.overflow_labels().view(), table_.overflow(), families);
  families[kCommSeries].metric.push_back(gauge(static_cast<double>(series)));
  families[kCommSeriesLimit].metric.push_back(gauge(static_cast<double>(table_.series_limit())));
  families[kOverflowEvents].metric.push_back(counter(overflow_events));
  return families;
}

}  // namespace execmond

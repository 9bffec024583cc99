#include "metrics/process_metrics.h"

#include <array>
#include <limits>
#include <string_view>
#include <utility>

#include "events/errno_names.h"
#include "events/signal_names.h"
#include "metrics/duration_buckets.h"

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

// The label pairs of one series, in the order the exposition shows them.
struct LabelPairs {
  std::vector<ClientMetric::Label> pairs;

  ClientMetric labelled() const {
    ClientMetric metric;
    metric.label = pairs;
    return metric;
  }
  ClientMetric labelled(const char* name, std::string_view value) const {
    ClientMetric metric = labelled();
    metric.label.push_back({name, std::string(value)});
    return metric;
  }
};

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
ClientMetric lifetime_histogram(const LabelPairs& labels, const ProcessStats& stats) {
  ClientMetric metric = labels.labelled();
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

void add_series(const LabelPairs& labels, const ProcessStats& stats, bool with_histogram,
                std::vector<MetricFamily>& families) {
  families[kExecs].metric.push_back(counter(labels.labelled(), stats.execs.value()));
  families[kExits].metric.push_back(counter(labels.labelled(), stats.exits.value()));
  families[kExitsNonzero].metric.push_back(counter(labels.labelled(), stats.exits_nonzero.value()));
  for (std::size_t slot = 0; slot < kSignalSlots; ++slot) {
    const std::uint64_t deaths = stats.exits_by_signal[slot].value();
    if (deaths == 0) continue;
    families[kExitsSignaled].metric.push_back(
        counter(labels.labelled("signal", signal_name(static_cast<int>(slot))), deaths));
  }
  // A name that only ever failed to exec has no lifetimes to show.
  if (with_histogram) {
    ClientMetric lifetimes = lifetime_histogram(labels, stats);
    if (lifetimes.histogram.sample_count > 0)
      families[kDuration].metric.push_back(std::move(lifetimes));
  }
  for (std::size_t slot = 0; slot < kErrnoSlots; ++slot) {
    const std::uint64_t failures = stats.exec_failures_by_errno[slot].value();
    if (failures == 0) continue;
    families[kExecFailures].metric.push_back(
        counter(labels.labelled("errno", errno_name(static_cast<int>(slot))), failures));
  }
}

LabelPairs label_pairs(const SeriesLabels& labels, bool unit, bool container) {
  LabelPairs pairs;
  pairs.pairs.push_back({"comm", std::string(labels.comm.view())});
  if (unit) pairs.pairs.push_back({"unit", std::string(labels.unit)});
  if (container) pairs.pairs.push_back({"container", std::string(labels.container)});
  return pairs;
}

SeriesFilter series_filter(const SeriesSettings& settings) {
  return SeriesFilter(CommFilter(settings.include_comms, settings.exclude_comms),
                      LabelFilter(settings.include_units, settings.exclude_units));
}

}  // namespace

ProcessMetrics::ProcessMetrics(const SeriesSettings& settings, std::size_t series_capacity)
    : unit_label_(settings.unit_label),
      container_label_(settings.container_label),
      lifetime_histogram_(settings.lifetime_histogram),
      table_(series_capacity, settings.max_comm_series, series_filter(settings)) {}

void ProcessMetrics::apply(const SeriesSettings& settings) {
  table_.apply(settings.max_comm_series, series_filter(settings));
  lifetime_histogram_.store(settings.lifetime_histogram, std::memory_order_relaxed);
}

void ProcessMetrics::record_exec(const SeriesKey& key) {
  ProcessStats* stats = table_.stats_for_event(key);
  if (stats == nullptr) return;
  stats->execs.add(1);
}

void ProcessMetrics::record_exit(const SeriesKey& key, ExitStatus status,
                                 std::uint64_t lifetime_ns) {
  ProcessStats* stats = table_.stats_for_event(key);
  if (stats == nullptr) return;
  stats->exits.add(1);
  if (status.signaled())
    stats->exits_by_signal[signal_slot(status.signal)].add(1);
  else if (status.code != 0)
    stats->exits_nonzero.add(1);
  stats->lifetime_buckets[duration_buckets::bucket_index(lifetime_ns)].add(1);
  stats->lifetime_sum_seconds.add(static_cast<double>(lifetime_ns) * 1e-9);
}

void ProcessMetrics::record_exec_failure(const SeriesKey& key, int error) {
  ProcessStats* stats = table_.stats_for_event(key);
  if (stats == nullptr) return;
  stats->exec_failures_by_errno[errno_slot(error)].add(1);
}

std::vector<MetricFamily> ProcessMetrics::Collect() const {
  std::vector<MetricFamily> families = empty_families();
  const bool histogram = lifetime_histogram_.load(std::memory_order_relaxed);
  const std::size_t series = table_.series_count();
  for (std::size_t i = 0; i < series; ++i)
    add_series(label_pairs(table_.series_labels(i), unit_label_, container_label_),
               table_.series(i), histogram, families);
  const std::uint64_t overflow_events = table_.overflow_events();
  if (overflow_events > 0)
    add_series(label_pairs(table_.overflow_labels(), unit_label_, container_label_),
               table_.overflow(), histogram, families);
  families[kCommSeries].metric.push_back(gauge(static_cast<double>(series)));
  families[kCommSeriesLimit].metric.push_back(gauge(static_cast<double>(table_.series_limit())));
  families[kOverflowEvents].metric.push_back(counter(overflow_events));
  return families;
}

}  // namespace execmond

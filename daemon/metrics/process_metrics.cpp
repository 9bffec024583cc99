#include "metrics/process_metrics.h"

#include <array>
#include <limits>
#include <string_view>
#include <utility>

#include "events/errno_names.h"
#include "events/signal_names.h"
#include "metrics/duration_buckets.h"
#include "metrics/native_buckets.h"

namespace execmond {
namespace {

// The `le` bounds of the classic buckets, +Inf last.
constexpr std::array<double, duration_buckets::kBucketCount> upper_bounds() {
  std::array<double, duration_buckets::kBucketCount> bounds{};
  for (std::size_t i = 0; i < duration_buckets::kUpperBoundsSeconds.size(); ++i)
    bounds[i] = duration_buckets::kUpperBoundsSeconds[i];
  bounds[duration_buckets::kInfBucket] = std::numeric_limits<double>::infinity();
  return bounds;
}
constexpr std::array<double, duration_buckets::kBucketCount> kUpperBounds = upper_bounds();

// The label pairs of one series, in the order the exposition shows them.
LabelSet label_set(const SeriesLabels& labels, bool unit, bool container) {
  LabelSet set{{"comm", labels.comm.view()}};
  if (unit) set.add("unit", labels.unit);
  if (container) set.add("container", labels.container);
  return set;
}

// One lifetime histogram, read once: cumulative classic counts whose count is the +Inf
// bucket, so the exposition stays a valid histogram while exits are being added, and
// the native buckets from their own read.
class LifetimeHistogram {
 public:
  explicit LifetimeHistogram(const ProcessStats& stats) {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < duration_buckets::kBucketCount; ++i) {
      total += stats.lifetime_buckets[i].value();
      cumulative_[i] = total;
    }
    for (std::size_t i = 0; i < native_buckets::kSlots; ++i)
      native_counts_[i] = stats.native_lifetimes[i].value();
    native_.schema = native_buckets::kSchema;
    native_.zero_threshold = native_buckets::kZeroThreshold;
    native_.zero_count = native_counts_[0];
    native_.first_index = native_buckets::kFirstIndex;
    native_.counts = native_counts_.data() + 1;
    native_.size = native_buckets::kBucketCount;
    sample_.count = total;
    sample_.sum = stats.lifetime_sum_seconds.value();
    sample_.upper_bounds = kUpperBounds.data();
    sample_.cumulative_counts = cumulative_.data();
    sample_.bucket_count = duration_buckets::kBucketCount;
    sample_.native = &native_;
  }
  LifetimeHistogram(const LifetimeHistogram&) = delete;
  LifetimeHistogram& operator=(const LifetimeHistogram&) = delete;

  const HistogramSample& sample() const { return sample_; }

 private:
  std::array<std::uint64_t, duration_buckets::kBucketCount> cumulative_{};
  std::array<std::uint64_t, native_buckets::kSlots> native_counts_{};
  NativeHistogram native_;
  HistogramSample sample_;
};

SeriesFilter series_filter(const SeriesSettings& settings) {
  return SeriesFilter(CommFilter(settings.include_comms, settings.exclude_comms),
                      LabelFilter(settings.include_units, settings.exclude_units));
}

std::uint64_t milliseconds(std::chrono::milliseconds duration) {
  return static_cast<std::uint64_t>(duration.count());
}

std::uint64_t milliseconds(ProcessMetrics::Clock::time_point time) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count());
}

}  // namespace

ProcessMetrics::ProcessMetrics(const SeriesSettings& settings, std::size_t series_capacity)
    : unit_label_(settings.unit_label),
      container_label_(settings.container_label),
      lifetime_histogram_(settings.lifetime_histogram),
      ttl_ms_(milliseconds(settings.series_ttl)),
      last_expiry_ms_(milliseconds(Clock::now())),
      table_(series_capacity, settings.max_comm_series, series_filter(settings)) {
  // Series made before the first maintain() are stamped with the time of their birth.
  table_.set_now(last_expiry_ms_);
}

void ProcessMetrics::apply(const SeriesSettings& settings) {
  table_.apply(settings.max_comm_series, series_filter(settings));
  lifetime_histogram_.store(settings.lifetime_histogram, std::memory_order_relaxed);
  ttl_ms_ = milliseconds(settings.series_ttl);
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
  stats->native_lifetimes[native_buckets::slot(lifetime_ns)].add(1);
  stats->lifetime_sum_seconds.add(static_cast<double>(lifetime_ns) * 1e-9);
}

void ProcessMetrics::record_exec_failure(const SeriesKey& key, int error) {
  ProcessStats* stats = table_.stats_for_event(key);
  if (stats == nullptr) return;
  stats->exec_failures_by_errno[errno_slot(error)].add(1);
}

void ProcessMetrics::maintain(Clock::time_point now) {
  const std::uint64_t now_ms = milliseconds(now);
  table_.set_now(now_ms);
  // A sweep reads every series: once a second is plenty for TTLs of seconds to days.
  if (now_ms - last_expiry_ms_ < 1000) return;
  last_expiry_ms_ = now_ms;
  table_.expire(ttl_ms_);
}

void ProcessMetrics::collect(MetricWriter& out) const {
  const bool histogram = lifetime_histogram_.load(std::memory_order_relaxed);
  const Series::Reading reading = table_.read();
  const std::uint64_t overflow_events = table_.overflow_events();
  const LabelSet overflow_labels =
      label_set(table_.overflow_labels(), unit_label_, container_label_);
  // Every series, then the overflow series once a key has gone there.
  const auto each_series = [&](auto&& write) {
    reading.for_each([&](const SeriesLabels& labels, const ProcessStats& stats) {
      write(label_set(labels, unit_label_, container_label_), stats);
    });
    if (overflow_events > 0) write(overflow_labels, table_.overflow());
  };
  const auto counter = [](const RunningTotal<std::uint64_t>& total) {
    return static_cast<double>(total.value());
  };

  out.family("execmond_execs_total", MetricType::kCounter,
             "Successful execs, by process name after the exec.");
  each_series([&](const LabelSet& labels, const ProcessStats& stats) {
    out.sample(labels, counter(stats.execs));
  });
  out.family("execmond_exits_total", MetricType::kCounter, "Process exits, by process name.");
  each_series([&](const LabelSet& labels, const ProcessStats& stats) {
    out.sample(labels, counter(stats.exits));
  });
  out.family("execmond_exits_nonzero_total", MetricType::kCounter,
             "Process exits with a non-zero exit code (deaths by signal not included), by "
             "process name.");
  each_series([&](const LabelSet& labels, const ProcessStats& stats) {
    out.sample(labels, counter(stats.exits_nonzero));
  });
  out.family("execmond_exits_signaled_total", MetricType::kCounter,
             "Processes killed by a signal, by process name and signal.");
  each_series([&](const LabelSet& labels, const ProcessStats& stats) {
    for (std::size_t slot = 0; slot < kSignalSlots; ++slot) {
      const std::uint64_t deaths = stats.exits_by_signal[slot].value();
      if (deaths > 0)
        out.sample(labels.with("signal", signal_name(static_cast<int>(slot))),
                   static_cast<double>(deaths));
    }
  });
  out.family("execmond_process_duration_seconds", MetricType::kHistogram,
             "Process lifetimes from exec (or fork, when the exec was not seen) to exit, by "
             "process name.");
  if (histogram) {
    each_series([&](const LabelSet& labels, const ProcessStats& stats) {
      const LifetimeHistogram lifetimes(stats);
      // A name that only ever failed to exec has no lifetimes to show.
      if (lifetimes.sample().count > 0) out.histogram(labels, lifetimes.sample());
    });
  }
  out.family("execmond_exec_failures_total", MetricType::kCounter,
             "Failed execve and execveat calls, by the caller's process name and errno.");
  each_series([&](const LabelSet& labels, const ProcessStats& stats) {
    for (std::size_t slot = 0; slot < kErrnoSlots; ++slot) {
      const std::uint64_t failures = stats.exec_failures_by_errno[slot].value();
      if (failures > 0)
        out.sample(labels.with("errno", errno_name(static_cast<int>(slot))),
                   static_cast<double>(failures));
    }
  });
  write_single_sample(out, "execmond_comm_series", MetricType::kGauge,
                      "Process names that have their own series.",
                      static_cast<double>(table_.series_count()));
  write_single_sample(out, "execmond_comm_series_limit", MetricType::kGauge,
                      "Process names that can have their own series (max_comm_series); later "
                      "names share comm=\"execmond_overflow\".",
                      static_cast<double>(table_.series_limit()));
  write_single_sample(out, "execmond_comm_overflow_events_total", MetricType::kCounter,
                      "Events counted under comm=\"execmond_overflow\" because max_comm_series "
                      "names already had their own series.",
                      static_cast<double>(overflow_events));
  write_single_sample(out, "execmond_comm_series_expired_total", MetricType::kCounter,
                      "Series removed because their labels were not seen for series_ttl; a name "
                      "that comes back starts again from zero (a counter reset).",
                      static_cast<double>(table_.expired_series()));
}

}  // namespace execmond

#include "metrics/unexpected_binary_metrics.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "events/printable_bytes.h"
#include "metrics/comm_label.h"
#include "metrics/metric_families.h"

namespace execmond {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

ClientMetric execs(const UnexpectedExecLabels& labels, std::uint64_t count) {
  ClientMetric metric = sample(MetricType::Counter, static_cast<double>(count));
  metric.label.push_back({"comm", labels.comm});
  metric.label.push_back({"path", labels.path});
  return metric;
}

}  // namespace

static_assert(sizeof(UnexpectedExecKey) % 8 == 0 &&
              std::has_unique_object_representations_v<UnexpectedExecKey>);

UnexpectedExecKey::UnexpectedExecKey(std::string_view path_bytes, const CommName& name) {
  path_bytes.copy(path, std::min(path_bytes.size(), sizeof(path)));
  name.view().copy(comm, name.view().size());
}

UnexpectedExecLabels::UnexpectedExecLabels(const UnexpectedExecKey& key) {
  append_escaped_bytes(path, {key.path, strnlen(key.path, sizeof(key.path))});
  comm = std::string(
      CommLabel(std::string_view(key.comm, strnlen(key.comm, sizeof(key.comm)))).view());
}

UnexpectedExecLabels UnexpectedExecLabels::overflow() {
  return {std::string(kOverflowPathLabel), std::string(kOverflowCommLabel)};
}

void UnexpectedBinaryMetrics::record_exec(std::string_view path, const CommName& comm) {
  // The key is built on the stack: ~1 KiB of zeroes and a copy, no allocation.
  if (Stats* stats = table_.stats_for_event(UnexpectedExecKey(path, comm))) stats->execs.add(1);
}

std::vector<MetricFamily> UnexpectedBinaryMetrics::Collect() const {
  MetricFamily total = metric_family("execmond_unexpected_execs_total", MetricType::Counter,
                                     "Execs of binaries the binaries allow-list does not admit, by "
                                     "resolved path (the script, for a script) and process name.");
  const std::size_t series = table_.series_count();
  for (std::size_t i = 0; i < series; ++i)
    total.metric.push_back(execs(table_.series_labels(i), table_.series(i).execs.value()));
  const std::uint64_t overflow = table_.overflow_events();
  if (overflow > 0) total.metric.push_back(execs(table_.overflow_labels(), overflow));

  return {
      std::move(total),
      single_sample_family("execmond_unexpected_series", MetricType::Gauge,
                           "Unexpected (path, comm) pairs that have their own series.",
                           static_cast<double>(series)),
      single_sample_family("execmond_unexpected_series_limit", MetricType::Gauge,
                           "Unexpected (path, comm) pairs that can have their own series; "
                           "later ones share path=\"execmond_overflow\".",
                           static_cast<double>(table_.series_limit())),
      single_sample_family("execmond_unexpected_overflow_execs_total", MetricType::Counter,
                           "Unexpected execs counted under path=\"execmond_overflow\" "
                           "because every series was taken.",
                           static_cast<double>(overflow)),
      single_sample_family("execmond_unexpected_exec_logs_suppressed_total", MetricType::Counter,
                           "Unexpected-exec log lines not written: the per-path or overall "
                           "rate limit held them back.",
                           static_cast<double>(logs_suppressed_.value()))};
}

}  // namespace execmond

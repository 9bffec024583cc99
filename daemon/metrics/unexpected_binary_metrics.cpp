#include "metrics/unexpected_binary_metrics.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "events/printable_bytes.h"
#include "metrics/comm_label.h"

namespace execmond {

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

void UnexpectedBinaryMetrics::collect(MetricWriter& out) const {
  const auto reading = table_.read();
  out.family("execmond_unexpected_execs_total", MetricType::kCounter,
             "Execs of binaries the binaries allow-list does not admit, by resolved path (the "
             "script, for a script) and process name.");
  reading.for_each([&out](const UnexpectedExecLabels& labels, const Stats& stats) {
    out.sample({{"comm", labels.comm}, {"path", labels.path}},
               static_cast<double>(stats.execs.value()));
  });
  const std::uint64_t overflow = table_.overflow_events();
  const UnexpectedExecLabels& overflow_labels = table_.overflow_labels();
  if (overflow > 0)
    out.sample({{"comm", overflow_labels.comm}, {"path", overflow_labels.path}},
               static_cast<double>(overflow));

  write_single_sample(out, "execmond_unexpected_series", MetricType::kGauge,
                      "Unexpected (path, comm) pairs that have their own series.",
                      static_cast<double>(table_.series_count()));
  write_single_sample(out, "execmond_unexpected_series_limit", MetricType::kGauge,
                      "Unexpected (path, comm) pairs that can have their own series; later ones "
                      "share path=\"execmond_overflow\".",
                      static_cast<double>(table_.series_limit()));
  write_single_sample(out, "execmond_unexpected_overflow_execs_total", MetricType::kCounter,
                      "Unexpected execs counted under path=\"execmond_overflow\" because every "
                      "series was taken.",
                      static_cast<double>(overflow));
  write_single_sample(out, "execmond_unexpected_exec_logs_suppressed_total", MetricType::kCounter,
                      "Unexpected-exec log lines not written: the per-path or overall rate limit "
                      "held them back.",
                      static_cast<double>(logs_suppressed_.value()));
}

}  // namespace execmond

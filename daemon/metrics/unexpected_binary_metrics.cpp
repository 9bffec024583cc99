// SPDX-License-Identifier: Apache-2.0
#include "metrics/unexpected_binary_metrics.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <type_traits>

#include "events/printable_bytes.h"
#include "metrics/comm_label.h"

namespace execmond {
namespace {

std::uint64_t key_hash(const UnexpectedExecKey& key) {
  return std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(&key), sizeof(key)));
}

}  // namespace

static_assert(sizeof(UnexpectedExecKey) % 8 == 0 &&
              std::has_unique_object_representations_v<UnexpectedExecKey>);

UnexpectedExecKey::UnexpectedExecKey(std::string_view path_bytes, const CommName& name,
                                     std::string_view reason_word,
                                     std::string_view container_label) {
  path_bytes.copy(path, std::min(path_bytes.size(), sizeof(path)));
  name.view().copy(comm, name.view().size());
  reason_word.copy(reason, std::min(reason_word.size(), sizeof(reason)));
  // Labels are short ("runtime:" and 12 hex digits); a longer one is cut, never overrun.
  container_label.copy(container, std::min(container_label.size(), sizeof(container) - 1));
}

UnexpectedExecLabels::UnexpectedExecLabels(const UnexpectedExecKey& key) {
  append_escaped_bytes(path, {key.path, strnlen(key.path, sizeof(key.path))});
  comm = std::string(
      CommLabel(std::string_view(key.comm, strnlen(key.comm, sizeof(key.comm)))).view());
  reason.assign(key.reason, strnlen(key.reason, sizeof(key.reason)));
  append_escaped_bytes(container, {key.container, strnlen(key.container, sizeof(key.container))});
}

UnexpectedExecLabels UnexpectedExecLabels::overflow() {
  UnexpectedExecLabels labels{std::string(kOverflowPathLabel), std::string(kOverflowCommLabel),
                              std::string(kOverflowPathLabel)};
  labels.container = std::string(kOverflowPathLabel);
  return labels;
}

bool UnexpectedBinaryMetrics::within_budget(const UnexpectedExecOwner& owner,
                                            const CommName& comm) const {
  const auto below = [](const auto& counts, const auto& key) {
    const auto found = counts.find(key);
    return found == counts.end() || found->second < kMaxSeriesPerOwner;
  };
  // The root cgroup is no unit's: on a host without systemd every process is in it.
  return below(series_by_uid_, owner.uid) &&
         (owner.cgroup_id <= kRootCgroupId || below(series_by_cgroup_, owner.cgroup_id)) &&
         below(series_by_comm_, std::string(comm.view()));
}

UnexpectedBinaryMetrics::Series UnexpectedBinaryMetrics::series_for(
    std::string_view path, const CommName& comm, std::string_view reason,
    const UnexpectedExecOwner& owner, std::string_view container) {
  const UnexpectedExecKey key(path, comm, reason,
                              container_label_ ? container : std::string_view());
  const std::uint64_t hash = key_hash(key);
  if (!created_.count(hash)) {
    // A new series only while the table has room and its owners have budget left; the
    // table itself never reaches its own overflow this way.
    if (table_.series_count() >= table_.series_limit() || !within_budget(owner, comm))
      return Series();
    created_.insert(hash);
    ++series_by_uid_[owner.uid];
    ++series_by_cgroup_[owner.cgroup_id];
    ++series_by_comm_[std::string(comm.view())];
  }
  Stats* stats = table_.stats_for_event(key);
  return Series(stats ? &stats->execs : nullptr);
}

void UnexpectedBinaryMetrics::count(Series series, std::uint64_t execs) {
  if (series.overflow()) {
    overflow_.add(execs);
  } else {
    series.stats_->add(execs);
  }
}

void UnexpectedBinaryMetrics::collect(MetricWriter& out) const {
  const auto reading = table_.read();
  out.family("execmond_unexpected_execs_total", MetricType::kCounter,
             "Execs of binaries the binaries allow-list does not admit, by the name the file was "
             "judged by (the host's, or a rootful container's), process name and reason.");
  const auto write = [this, &out](const UnexpectedExecLabels& labels, std::uint64_t execs) {
    LabelSet set{{"comm", labels.comm}};
    if (container_label_) set.add("container", labels.container);
    set.add("path", labels.path);
    set.add("reason", labels.reason);
    out.sample(set, static_cast<double>(execs));
  };
  reading.for_each([&write](const UnexpectedExecLabels& labels, const Stats& stats) {
    write(labels, stats.execs.value());
  });
  const std::uint64_t overflow = overflow_.value();
  if (overflow > 0) write(table_.overflow_labels(), overflow);

  write_single_sample(out, "execmond_unexpected_series", MetricType::kGauge,
                      "Unexpected (path, comm, reason) triples that have their own series.",
                      static_cast<double>(table_.series_count()));
  write_single_sample(out, "execmond_unexpected_series_limit", MetricType::kGauge,
                      "Unexpected (path, comm, reason) triples that can have their own series; "
                      "later ones, and those of a uid, comm or cgroup past its quarter, share "
                      "path=\"execmond_overflow\".",
                      static_cast<double>(table_.series_limit()));
  write_single_sample(out, "execmond_unexpected_overflow_execs_total", MetricType::kCounter,
                      "Unexpected execs counted under path=\"execmond_overflow\": every series "
                      "was taken, or their uid, comm or cgroup had used its share.",
                      static_cast<double>(overflow));
  write_single_sample(out, "execmond_unexpected_exec_logs_suppressed_total", MetricType::kCounter,
                      "Unexpected-exec log lines not written one by one: a rate limit held them "
                      "back (each second's are summed in one line).",
                      static_cast<double>(logs_suppressed_.value()));
}

}  // namespace execmond

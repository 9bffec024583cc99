// SPDX-License-Identifier: Apache-2.0
#include "reload_plan.h"

#include <algorithm>
#include <optional>

namespace execmond {
namespace {

// One row per setting. A setting with an action applies in place by that action; one
// without either needs none (web_config_file: every reload re-reads the web
// configuration) or, with `keep`, cannot change in place: `keep` copies the running value
// into the effective configuration.
struct SettingRule {
  Setting setting;
  std::string_view name;
  std::optional<ReloadAction> action;
  bool (*differs)(const Config& a, const Config& b);
  void (*keep)(Config& effective, const Config& running);  // null: applies in place
};

constexpr SettingRule kRules[] = {
    // The server binds the new address before it lets go of the old one.
    {Setting::kListen, "listen", ReloadAction::kRebindListener,
     [](const Config& a, const Config& b) { return a.listen != b.listen; }, nullptr},
    // A writable global of the programs, read on every exit.
    {Setting::kMinDuration, "min_duration", ReloadAction::kSetMinDuration,
     [](const Config& a, const Config& b) { return a.min_duration != b.min_duration; }, nullptr},
    // Applied by the reader thread, which owns the series table the filters guard.
    {Setting::kSeriesFilters, "include_comms/exclude_comms/include_units/exclude_units",
     ReloadAction::kApplySeriesSettings,
     [](const Config& a, const Config& b) {
       const SeriesSettings& x = a.series;
       const SeriesSettings& y = b.series;
       return x.include_comms != y.include_comms || x.exclude_comms != y.exclude_comms ||
              x.include_units != y.include_units || x.exclude_units != y.exclude_units;
     },
     nullptr},
    // The table reserves kMaxCommSeries series at start, the most the setting allows.
    {Setting::kSeriesBound, "max_comm_series", ReloadAction::kApplySeriesSettings,
     [](const Config& a, const Config& b) {
       return a.series.max_comm_series != b.series.max_comm_series;
     },
     nullptr},
    // Only what the exposition shows: the lifetimes are counted either way.
    {Setting::kLifetimeHistogram, "lifetime_histogram", ReloadAction::kApplySeriesSettings,
     [](const Config& a, const Config& b) {
       return a.series.lifetime_histogram != b.series.lifetime_histogram;
     },
     nullptr},
    // The reader's next sweep removes by the new time.
    {Setting::kSeriesTtl, "series_ttl", ReloadAction::kApplySeriesSettings,
     [](const Config& a, const Config& b) { return a.series.series_ttl != b.series.series_ttl; },
     nullptr},
    // Series are keyed by their labels: another label set is another table.
    {Setting::kLabels, "labels", std::nullopt,
     [](const Config& a, const Config& b) {
       return a.series.unit_label != b.series.unit_label ||
              a.series.container_label != b.series.container_label;
     },
     [](Config& e, const Config& r) {
       e.series.unit_label = r.series.unit_label;
       e.series.container_label = r.series.container_label;
     }},
    // Another hook (or none) is another set of programs: a restart attaches it.
    {Setting::kExecFailures, "exec_failures", std::nullopt,
     [](const Config& a, const Config& b) { return a.exec_failures != b.exec_failures; },
     [](Config& e, const Config& r) { e.exec_failures = r.exec_failures; }},
    // The kernel's ring buffer is sized when the programs load.
    {Setting::kRingBufferSize, "ring_buffer_size", std::nullopt,
     [](const Config& a, const Config& b) { return a.ring_buffer_size != b.ring_buffer_size; },
     [](Config& e, const Config& r) { e.ring_buffer_size = r.ring_buffer_size; }},
    {Setting::kPollInterval, "poll_interval", ReloadAction::kSetPollInterval,
     [](const Config& a, const Config& b) { return a.poll_interval != b.poll_interval; }, nullptr},
    // No step of its own: every reload reads the web configuration again.
    {Setting::kWebConfigFile, "web_config_file", std::nullopt,
     [](const Config& a, const Config& b) { return a.web_config_file != b.web_config_file; },
     nullptr},
    // Verdicts are judged again; the kernel's cache of verdicts is emptied.
    {Setting::kAllowedBinaries, "binaries", ReloadAction::kReplaceAllowList,
     [](const Config& a, const Config& b) {
       return a.allowed_binaries != b.allowed_binaries ||
              a.packaged_binaries != b.packaged_binaries;
     },
     nullptr},
    {Setting::kLogLevel, "log_level", ReloadAction::kSetLogLevel,
     [](const Config& a, const Config& b) { return a.log_level != b.log_level; }, nullptr},
};

}  // namespace

ReloadPlan plan_reload(const Config& running, const Config& next) {
  ReloadPlan plan{{}, {}, next};
  for (const SettingRule& rule : kRules) {
    if (!rule.differs(running, next)) continue;
    const bool in_place = rule.keep == nullptr;
    plan.changes.push_back({rule.setting, rule.name, in_place});
    if (!in_place) rule.keep(plan.effective, running);
    if (rule.action &&
        std::find(plan.actions.begin(), plan.actions.end(), *rule.action) == plan.actions.end())
      plan.actions.push_back(*rule.action);
  }
  // The enumeration's order is the order to run them in.
  std::sort(plan.actions.begin(), plan.actions.end());
  return plan;
}

}  // namespace execmond

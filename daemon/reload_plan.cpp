#include "reload_plan.h"

namespace execmond {
namespace {

// One row per setting. `keep` copies the running value into the effective configuration,
// for settings that cannot change in place.
struct SettingRule {
  Setting setting;
  std::string_view name;
  bool in_place;
  bool (*differs)(const Config& a, const Config& b);
  void (*keep)(Config& effective, const Config& running);
};

constexpr SettingRule kRules[] = {
    // The server binds the new address before it lets go of the old one.
    {Setting::kListen, "listen", true,
     [](const Config& a, const Config& b) { return a.listen != b.listen; },
     [](Config& e, const Config& r) { e.listen = r.listen; }},
    // A writable global of the programs, read on every exit.
    {Setting::kMinDuration, "min_duration", true,
     [](const Config& a, const Config& b) { return a.min_duration != b.min_duration; },
     [](Config& e, const Config& r) { e.min_duration = r.min_duration; }},
    // Applied by the reader thread, which owns the series table the filters guard.
    {Setting::kSeriesFilters, "include_comms/exclude_comms/include_units/exclude_units", true,
     [](const Config& a, const Config& b) {
       return a.include_comms != b.include_comms || a.exclude_comms != b.exclude_comms ||
              a.include_units != b.include_units || a.exclude_units != b.exclude_units;
     },
     [](Config& e, const Config& r) {
       e.include_comms = r.include_comms;
       e.exclude_comms = r.exclude_comms;
       e.include_units = r.include_units;
       e.exclude_units = r.exclude_units;
     }},
    // The table reserves kMaxCommSeries series at start, the most the setting allows.
    {Setting::kSeriesBound, "max_comm_series", true,
     [](const Config& a, const Config& b) { return a.max_comm_series != b.max_comm_series; },
     [](Config& e, const Config& r) { e.max_comm_series = r.max_comm_series; }},
    // Only what Collect() shows: the lifetimes are counted either way.
    {Setting::kLifetimeHistogram, "lifetime_histogram", true,
     [](const Config& a, const Config& b) { return a.lifetime_histogram != b.lifetime_histogram; },
     [](Config& e, const Config& r) { e.lifetime_histogram = r.lifetime_histogram; }},
    // Series are keyed by their labels: another label set is another table.
    {Setting::kLabels, "labels", false,
     [](const Config& a, const Config& b) {
       return a.unit_label != b.unit_label || a.container_label != b.container_label;
     },
     [](Config& e, const Config& r) {
       e.unit_label = r.unit_label;
       e.container_label = r.container_label;
     }},
    // Another hook (or none) is another set of programs: a restart attaches it.
    {Setting::kExecFailures, "exec_failures", false,
     [](const Config& a, const Config& b) { return a.exec_failures != b.exec_failures; },
     [](Config& e, const Config& r) { e.exec_failures = r.exec_failures; }},
    // The kernel's ring buffer is sized when the programs load.
    {Setting::kRingBufferSize, "ring_buffer_size", false,
     [](const Config& a, const Config& b) { return a.ring_buffer_size != b.ring_buffer_size; },
     [](Config& e, const Config& r) { e.ring_buffer_size = r.ring_buffer_size; }},
    {Setting::kPollInterval, "poll_interval", true,
     [](const Config& a, const Config& b) { return a.poll_interval != b.poll_interval; },
     [](Config& e, const Config& r) { e.poll_interval = r.poll_interval; }},
    {Setting::kWebConfigFile, "web_config_file", true,
     [](const Config& a, const Config& b) { return a.web_config_file != b.web_config_file; },
     [](Config& e, const Config& r) { e.web_config_file = r.web_config_file; }},
    // Verdicts are judged again; the kernel's cache of allowed files is emptied.
    {Setting::kAllowedBinaries, "binaries", true,
     [](const Config& a, const Config& b) { return a.allowed_binaries != b.allowed_binaries; },
     [](Config& e, const Config& r) { e.allowed_binaries = r.allowed_binaries; }},
    {Setting::kLogLevel, "log_level", true,
     [](const Config& a, const Config& b) { return a.log_level != b.log_level; },
     [](Config& e, const Config& r) { e.log_level = r.log_level; }},
};

}  // namespace

ReloadPlan plan_reload(const Config& running, const Config& next) {
  ReloadPlan plan{{}, next};
  for (const SettingRule& rule : kRules) {
    if (!rule.differs(running, next)) continue;
    plan.changes.push_back({rule.setting, rule.name, rule.in_place});
    if (!rule.in_place) rule.keep(plan.effective, running);
  }
  return plan;
}

}  // namespace execmond

#include "metrics/reload_status.h"

#include <chrono>

namespace execmond {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

ReloadStatus::ReloadStatus() : last_success_seconds_(now_seconds()) {}

void ReloadStatus::record_success() {
  last_success_seconds_.store(now_seconds());
  last_successful_.store(true);
}

void ReloadStatus::record_failure() { last_successful_.store(false); }

void ReloadStatus::collect(MetricWriter& out) const {
  write_single_sample(out, "execmond_config_last_reload_successful", MetricType::kGauge,
                      "Whether the last configuration reload (SIGHUP) succeeded; 0 means the "
                      "daemon still runs on the previous configuration.",
                      last_successful_.load() ? 1 : 0);
  write_single_sample(out, "execmond_config_last_reload_success_timestamp_seconds",
                      MetricType::kGauge,
                      "When the configuration was last loaded successfully (start or SIGHUP).",
                      last_success_seconds_.load());
}

}  // namespace execmond

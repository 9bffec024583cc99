#include "metrics/reload_status.h"

#include <chrono>

#include "metrics/metric_families.h"

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

std::vector<prometheus::MetricFamily> ReloadStatus::Collect() const {
  using prometheus::MetricType;
  return {single_sample_family(
              "execmond_config_last_reload_successful", MetricType::Gauge,
              "Whether the last configuration reload (SIGHUP) succeeded; 0 means the daemon "
              "still runs on the previous configuration.",
              last_successful_.load() ? 1 : 0),
          single_sample_family(
              "execmond_config_last_reload_success_timestamp_seconds", MetricType::Gauge,
              "When the configuration was last loaded successfully (start or SIGHUP).",
              last_success_seconds_.load())};
}

}  // namespace execmond

// execmond_config_last_reload_successful and its timestamp, as Prometheus and
// Alertmanager export them, so that a reload that kept the old configuration alerts.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <atomic>
#include <vector>

namespace execmond {

class ReloadStatus : public prometheus::Collectable {
 public:
  // Starting counts as a successful load, at the time of construction.
  ReloadStatus();

  void record_success();
  void record_failure();

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::atomic<bool> last_successful_{true};
  std::atomic<double> last_success_seconds_;
};

}  // namespace execmond

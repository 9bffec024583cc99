// execmond_config_last_reload_successful and its timestamp, as Prometheus and
// Alertmanager export them, so that a reload that kept the old configuration alerts.
#pragma once

#include <atomic>
#include <vector>

#include "metrics/metric_writer.h"

namespace execmond {

class ReloadStatus : public Collector {
 public:
  // Starting counts as a successful load, at the time of construction.
  ReloadStatus();

  void record_success();
  void record_failure();

  void collect(MetricWriter& out) const override;

 private:
  std::atomic<bool> last_successful_{true};
  std::atomic<double> last_success_seconds_;
};

}  // namespace execmond

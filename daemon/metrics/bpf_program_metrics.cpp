#include "metrics/bpf_program_metrics.h"

#include <prometheus/metric_family.h>

#include "metrics/metric_families.h"

namespace execmond {

std::vector<prometheus::MetricFamily> BpfProgramCollector::Collect() const {
  const bool enabled = enabled_();
  auto state = single_sample_family(
      "execmond_bpf_stats_enabled", prometheus::MetricType::Gauge,
      "1 while the kernel times BPF programs (execmond enabled it with CAP_SYS_ADMIN, or "
      "kernel.bpf_stats_enabled is 1): only then are execmond_bpf_program_* exported",
      enabled ? 1 : 0);
  if (!enabled) return {std::move(state)};
  prometheus::MetricFamily seconds;
  seconds.name = "execmond_bpf_program_run_seconds_total";
  seconds.help =
      "Time the kernel spent running each of execmond's BPF programs, which the processes "
      "that trigger them pay (exec, exit, failed exec)";
  seconds.type = prometheus::MetricType::Counter;
  prometheus::MetricFamily runs;
  runs.name = "execmond_bpf_program_runs_total";
  runs.help = "Runs of each of execmond's BPF programs";
  runs.type = prometheus::MetricType::Counter;
  for (const ProgramRunTime& program : read_()) {
    prometheus::ClientMetric metric;
    metric.label = {{"program", program.program}};
    metric.counter.value = static_cast<double>(program.run_time_ns) / 1e9;
    seconds.metric.push_back(metric);
    metric.counter.value = static_cast<double>(program.runs);
    runs.metric.push_back(std::move(metric));
  }
  return {std::move(state), std::move(seconds), std::move(runs)};
}

}  // namespace execmond

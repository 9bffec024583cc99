#include "metrics/bpf_program_metrics.h"

#include <prometheus/metric_family.h>

namespace execmond {

std::vector<prometheus::MetricFamily> BpfProgramCollector::Collect() const {
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
  return {std::move(seconds), std::move(runs)};
}

}  // namespace execmond

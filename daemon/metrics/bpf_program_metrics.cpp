// SPDX-License-Identifier: Apache-2.0
#include "metrics/bpf_program_metrics.h"

namespace execmond {

void BpfProgramCollector::collect(MetricWriter& out) const {
  const bool enabled = enabled_();
  write_single_sample(
      out, "execmond_bpf_stats_enabled", MetricType::kGauge,
      "1 while the kernel times BPF programs (execmond enabled it with CAP_SYS_ADMIN, or "
      "kernel.bpf_stats_enabled is 1): only then are execmond_bpf_program_* exported",
      enabled ? 1 : 0);
  if (!enabled) return;
  const std::vector<ProgramRunTime> programs = read_();
  out.family("execmond_bpf_program_run_seconds_total", MetricType::kCounter,
             "Time the kernel spent running each of execmond's BPF programs, which the processes "
             "that trigger them pay (exec, exit, failed exec)");
  for (const ProgramRunTime& program : programs)
    out.sample({{"program", program.program}}, static_cast<double>(program.run_time_ns) / 1e9);
  out.family("execmond_bpf_program_runs_total", MetricType::kCounter,
             "Runs of each of execmond's BPF programs");
  for (const ProgramRunTime& program : programs)
    out.sample({{"program", program.program}}, static_cast<double>(program.runs));
}

}  // namespace execmond

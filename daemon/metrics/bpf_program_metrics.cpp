#include "metrics/bpf_program_metrics.h"

namespace execmond {

void BpfProgramCollector::collect(MetricWriter& out) const {
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

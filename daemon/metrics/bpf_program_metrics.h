// execmond_bpf_program_run_seconds_total and execmond_bpf_program_runs_total: what the
// daemon's own BPF programs cost the host, from the kernel's run-time statistics.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "metrics/metric_writer.h"

namespace execmond {

// One program's totals since it was loaded.
struct ProgramRunTime {
  std::string program;
  std::uint64_t run_time_ns = 0;
  std::uint64_t runs = 0;
};

class BpfProgramCollector : public Collector {
 public:
  // `read` asks the kernel at each scrape (ProcessProbes::program_stats); what it reads
  // must outlive every scrape: unregister this collector first.
  explicit BpfProgramCollector(std::function<std::vector<ProgramRunTime>()> read)
      : read_(std::move(read)) {}
  void collect(MetricWriter& out) const override;

 private:
  std::function<std::vector<ProgramRunTime>()> read_;
};

}  // namespace execmond

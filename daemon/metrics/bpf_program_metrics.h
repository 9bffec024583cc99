// execmond_bpf_program_run_seconds_total and execmond_bpf_program_runs_total: what the
// daemon's own BPF programs cost the host, from the kernel's run-time statistics; and
// execmond_bpf_stats_enabled, which says whether the kernel keeps them (without it the
// two families are absent, and a dashboard can say why).
#pragma once

#include <prometheus/collectable.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace execmond {

// One program's totals since it was loaded.
struct ProgramRunTime {
  std::string program;
  std::uint64_t run_time_ns = 0;
  std::uint64_t runs = 0;
};

class BpfProgramCollector : public prometheus::Collectable {
 public:
  // `enabled` and `read` ask the kernel at each scrape (ProcessProbes::has_program_stats,
  // program_stats); what they read must outlive every scrape: unregister this collector
  // first.
  BpfProgramCollector(std::function<bool()> enabled,
                      std::function<std::vector<ProgramRunTime>()> read)
      : enabled_(std::move(enabled)), read_(std::move(read)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::function<bool()> enabled_;
  std::function<std::vector<ProgramRunTime>()> read_;
};

}  // namespace execmond

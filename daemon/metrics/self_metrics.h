// The standard process_* metrics every Prometheus client library exports about its own
// process (prometheus-cpp does not): what execmond itself costs the host in user space.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "metrics/metric_writer.h"

namespace execmond {

// One reading of /proc/self/stat, in the units the metrics use.
struct ProcessStat {
  double cpu_seconds = 0;           // user + system
  double start_time_seconds = 0;    // since the Unix epoch
  std::uint64_t virtual_bytes = 0;  // vsize
  std::uint64_t resident_bytes = 0;
};

// Parses the text of /proc/self/stat; `ticks_per_second` (sysconf(_SC_CLK_TCK)),
// `page_size` and `boot_time_seconds` (btime in /proc/stat) convert its fields. The
// command name in parentheses may hold spaces and parentheses: fields are counted from
// the last ')'. nullopt for text that is not a stat line.
std::optional<ProcessStat> parse_process_stat(std::string_view stat, long ticks_per_second,
                                              long page_size, std::uint64_t boot_time_seconds);

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds.
class SelfMetrics : public Collector {
 public:
  SelfMetrics();
  void collect(MetricWriter& out) const override;

 private:
  long ticks_per_second_;
  long page_size_;
  std::uint64_t boot_time_seconds_;
};

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
#include "metrics/self_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

namespace execmond {
namespace {

std::string read_text(const char* path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

std::uint64_t boot_time_seconds() {
  std::istringstream stat(read_text("/proc/stat"));
  for (std::string line; std::getline(stat, line);) {
    if (line.rfind("btime ", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

// Entries of /proc/self/fd, less the one that reads it.
double open_fds() {
  struct DirCloser {
    void operator()(DIR* dir) const { closedir(dir); }
  };
  const std::unique_ptr<DIR, DirCloser> dir(opendir("/proc/self/fd"));
  if (!dir) return 0;
  double count = 0;
  while (const dirent* entry = readdir(dir.get()))
    if (entry->d_name[0] != '.') ++count;
  return count - 1;
}

double max_fds() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  return static_cast<double>(limit.rlim_cur);
}

}  // namespace

std::optional<ProcessStat> parse_process_stat(std::string_view stat, long ticks_per_second,
                                              long page_size, std::uint64_t boot_time_seconds) {
  const std::size_t end_of_name = stat.rfind(')');
  if (end_of_name == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  // Fields after the name, numbered as proc(5) does: state is field 3.
  std::uint64_t fields[25] = {};
  std::string_view rest = stat.substr(end_of_name + 1);
  for (int field = 3; field <= 24; ++field) {
    const std::size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(start);
    const std::size_t length = std::min(rest.find(' '), rest.size());
    // Only the unsigned fields used below are converted (others, such as tpgid, may be -1).
    const bool used = field == 14 || field == 15 || field >= 22;
    if (used) {
      const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + length, fields[field]);
      if (ec != std::errc() || ptr != rest.data() + length) return std::nullopt;
    }
    rest.remove_prefix(length);
  }
  const double ticks = static_cast<double>(ticks_per_second);
  ProcessStat parsed;
  parsed.cpu_seconds = static_cast<double>(fields[14] + fields[15]) / ticks;  // utime, stime
  parsed.start_time_seconds =
      static_cast<double>(boot_time_seconds) + static_cast<double>(fields[22]) / ticks;
  parsed.virtual_bytes = fields[23];
  parsed.resident_bytes = fields[24] * static_cast<std::uint64_t>(page_size);
  return parsed;
}

SelfMetrics::SelfMetrics()
    : ticks_per_second_(sysconf(_SC_CLK_TCK)),
      page_size_(sysconf(_SC_PAGESIZE)),
      boot_time_seconds_(boot_time_seconds()) {}

void SelfMetrics::collect(MetricWriter& out) const {
  const std::optional<ProcessStat> stat = parse_process_stat(
      read_text("/proc/self/stat"), ticks_per_second_, page_size_, boot_time_seconds_);
  if (!stat) return;
  write_single_sample(out, "process_cpu_seconds_total", MetricType::kCounter,
                      "Total user and system CPU time spent in seconds.", stat->cpu_seconds);
  write_single_sample(out, "process_resident_memory_bytes", MetricType::kGauge,
                      "Resident memory size in bytes.", static_cast<double>(stat->resident_bytes));
  write_single_sample(out, "process_virtual_memory_bytes", MetricType::kGauge,
                      "Virtual memory size in bytes.", static_cast<double>(stat->virtual_bytes));
  write_single_sample(out, "process_open_fds", MetricType::kGauge,
                      "Number of open file descriptors.", open_fds());
  write_single_sample(out, "process_max_fds", MetricType::kGauge,
                      "Maximum number of open file descriptors.", max_fds());
  write_single_sample(out, "process_start_time_seconds", MetricType::kGauge,
                      "Start time of the process since unix epoch in seconds.",
                      stat->start_time_seconds);
}

}  // namespace execmond

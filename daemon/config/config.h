// execmond's configuration: what the YAML file says, validated.
#pragma once

#include <spdlog/common.h>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace execmond {

// Defaults here are the ones config/execmond.yaml spells out; a unit test keeps the two
// equal.
struct Config {
  // host:port of the /metrics endpoint: "0.0.0.0:9717", "127.0.0.1:9717", "[::]:9717".
  std::string listen = "0.0.0.0:9717";
  // Exits of processes that lived less are dropped in the kernel (execs still count).
  std::chrono::nanoseconds min_duration{0};
  // Count failed execs (execmond_exec_failures_total). The hook is the cheapest the
  // kernel allows; only the last resort, syscall tracepoints, costs other processes.
  bool exec_failures = true;
  // Glob patterns (fnmatch) on the process name. Empty include: every name.
  std::vector<std::string> include_comms;
  std::vector<std::string> exclude_comms;
  // Distinct process names with their own series; later names fold into one.
  std::size_t max_comm_series = 1000;
  // Bytes of the kernel ring buffer: a power of two, 64 KiB to 1 GiB.
  std::size_t ring_buffer_size = std::size_t{4} << 20;
  // How often the reader drains the ring buffer when no wake-up came.
  std::chrono::milliseconds poll_interval{200};
  spdlog::level::level_enum log_level = spdlog::level::info;

  bool operator==(const Config& other) const;
};

// A configuration mistake, located: "<source>:<line>:<column>: <what was expected>".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses YAML text; `source` names it in errors (a path, or "<embedded default>").
Config parse_config(std::string_view yaml, const std::string& source);
// Reads and parses a file; an unreadable file is a ConfigError too.
Config load_config_file(const std::string& path);

// config/execmond.yaml, embedded at build time.
std::string_view embedded_default_config();

}  // namespace execmond

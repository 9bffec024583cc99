// SPDX-License-Identifier: Apache-2.0
// execmond's configuration: what the YAML file says, validated.
#pragma once

#include <spdlog/common.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"

namespace execmond {

// The largest max_comm_series: ~26 MiB of counters, ~250000 series for Prometheus. The
// daemon reserves this many series at start, so that a reload can raise the bound.
inline constexpr std::size_t kMaxCommSeries = 10'000;

// What the series table is keyed by, what it admits and what it shows: the metrics stage
// takes these (at start and on reload) straight from the configuration.
struct SeriesSettings {
  // Distinct label sets with their own series; later ones share comm="execmond_overflow".
  std::size_t max_comm_series = 1000;
  // Glob patterns (fnmatch) on the process name. Empty include: every name.
  std::vector<std::string> include_comms;
  std::vector<std::string> exclude_comms;
  // Labels of the per-process series besides comm: `labels: [comm, unit, container]`.
  // Series are keyed by their labels, so these are fixed when the table is made.
  bool unit_label = false;
  bool container_label = false;
  // Glob patterns (fnmatch) on the unit label; only with the unit label.
  std::vector<std::string> include_units;
  std::vector<std::string> exclude_units;
  // Export the per-series lifetime histogram (19 of a series' ~25 samples). Off, the
  // lifetimes are still counted, so turning it back on shows them whole.
  bool lifetime_histogram = true;
  // A series whose labels no event has carried for this long is removed, and its place
  // goes to the next new label set; zero keeps every series. Longer than a week, so
  // that jobs run weekly (and daily ones with randomized timers) keep one series.
  std::chrono::milliseconds series_ttl = std::chrono::hours(192);

  bool operator==(const SeriesSettings& other) const;
};

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
  SeriesSettings series;
  // Bytes of the kernel ring buffer: a power of two, 64 KiB to 1 GiB.
  std::size_t ring_buffer_size = std::size_t{4} << 20;
  // How often the reader drains the ring buffer when no wake-up came.
  std::chrono::milliseconds poll_interval{200};
  spdlog::level::level_enum log_level = spdlog::level::info;
  // TLS and basic auth of /metrics, in the exporter-toolkit web configuration format.
  // Empty: plain HTTP, no authentication.
  std::string web_config_file;
  // Where the key was set ("<file>:<line>:<column>"), so that an unreadable web
  // configuration file is reported with the line that named it. Not compared.
  std::string web_config_file_at;
  // `binaries: allow:` globs on resolved executable paths. No section: binaries are
  // neither resolved nor judged.
  // Entries are path globs or "sha256:<64 hex digits>" (content, at any path).
  std::optional<std::vector<std::string>> allowed_binaries;
  // `binaries: packaged:`: files the host's package database owns run only with the
  // content it recorded, and files among them that no package owns are unexpected
  // (binaries/content_policy.h). Only with a binaries section.
  bool packaged_binaries = false;

  bool operator==(const Config& other) const;
};

// Parses YAML text; `source` names it in errors (a path, or "<embedded default>").
Config parse_config(std::string_view yaml, const std::string& source);
// Reads and parses a file; an unreadable file is a ConfigError too.
Config load_config_file(const std::string& path);

// config/execmond.yaml, embedded at build time.
std::string_view embedded_default_config();

}  // namespace execmond

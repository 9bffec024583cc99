// SPDX-License-Identifier: Apache-2.0
// What `execmond trace` is asked to show: its command line, parsed by cli.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace execmond {

struct TraceOptions {
  bool json = false;
  std::uint64_t min_duration_ms = 0;
  std::vector<std::string> include_comms;
  std::vector<std::string> exclude_comms;
  std::vector<std::string> include_units;  // --unit: globs on the unit label
  std::optional<std::uint32_t> uid;
  std::optional<std::uint32_t> pid;
  bool failed_only = false;
  // Only execs of binaries the allow-list does not admit; the list is the `binaries`
  // section of config_path, or of the embedded default.
  bool unexpected_only = false;
  std::optional<std::string> config_path;
};

}  // namespace execmond

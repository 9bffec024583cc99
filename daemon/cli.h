// execmond's command line.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace execmond {

struct DaemonOptions {
  std::optional<std::string> config_path;      // none: the embedded default
  std::optional<std::string> listen;           // overrides the configuration's
  std::optional<std::string> web_config_file;  // overrides web_config_file
  bool check_config = false;
};

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

struct CommandLine {
  enum class Action { kRunDaemon, kCheckConfig, kTrace, kHelp, kTraceHelp, kVersion };
  Action action = Action::kRunDaemon;
  DaemonOptions daemon;
  TraceOptions trace;
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

CommandLine parse_command_line(int argc, char* const argv[]);
const char* usage_text();
const char* trace_usage_text();

}  // namespace execmond

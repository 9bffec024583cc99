// execmond's command line.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "trace/trace_options.h"

namespace execmond {

struct DaemonOptions {
  std::optional<std::string> config_path;      // none: the embedded default
  std::optional<std::string> listen;           // overrides the configuration's
  std::optional<std::string> web_config_file;  // overrides web_config_file
  bool check_config = false;
};

struct CommandLine {
  enum class Action { kRunDaemon, kCheckConfig, kTrace, kHelp, kTraceHelp, kVersion };
  Action action = Action::kRunDaemon;
  DaemonOptions daemon;
  TraceOptions trace;
};

const char* usage_text();
const char* trace_usage_text();

// A mistake on the command line, with the usage of the command it was made in: `execmond
// trace --bogus` shows trace's options, not the daemon's.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message, const char* usage = usage_text())
      : std::runtime_error(message), usage_(usage) {}
  const char* usage() const { return usage_; }

 private:
  const char* usage_;
};

CommandLine parse_command_line(int argc, char* const argv[]);

}  // namespace execmond

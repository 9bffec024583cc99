// execmond: process lifecycle metrics from eBPF, and a live view of execs and exits.
#include <cstdio>
#include <exception>

#include "cli.h"
#include "config/parse_bound.h"
#include "config/parse_probe.h"
#include "daemon.h"
#include "service/exit_codes.h"
#include "trace/trace_command.h"
#include "version.h"

int main(int argc, char* argv[]) {
  using execmond::CommandLine;
  namespace exit_code = execmond::exit_code;
  // The child that proves a YAML parse terminates (config/parse_bound.h): nothing else.
  if (execmond::is_parse_probe(argc, argv)) return execmond::run_parse_probe(argc, argv);
  // Every configuration this process reads is parsed first in such a child: the same binary,
  // even once an upgrade has replaced its file.
  execmond::bound_yaml_parsing("/proc/self/exe");
  try {
    const CommandLine cli = execmond::parse_command_line(argc, argv);
    switch (cli.action) {
      case CommandLine::Action::kHelp:
        std::fputs(execmond::usage_text(), stdout);
        return 0;
      case CommandLine::Action::kTraceHelp:
        std::fputs(execmond::trace_usage_text(), stdout);
        return 0;
      case CommandLine::Action::kVersion:
        std::printf("execmond %s\n", EXECMOND_VERSION);
        return 0;
      case CommandLine::Action::kCheckConfig:
        return execmond::check_config(cli.daemon);
      case CommandLine::Action::kTrace:
        return execmond::run_trace(cli.trace);
      case CommandLine::Action::kRunDaemon:
        return execmond::run_daemon(cli.daemon);
    }
  } catch (const execmond::UsageError& error) {
    std::fprintf(stderr, "execmond: %s\n%s", error.what(), error.usage());
    return exit_code::kUsage;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "execmond: %s\n", error.what());
    return exit_code::kRuntimeFailure;
  }
  return exit_code::kRuntimeFailure;
}

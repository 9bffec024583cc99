#include "cli.h"

#include <getopt.h>

#include <charconv>
#include <chrono>
#include <cstring>
#include <limits>
#include <string_view>

namespace execmond {
namespace {

template <typename Number>
Number parse_number(const char* option, const char* text,
                    Number max = std::numeric_limits<Number>::max()) {
  Number value{};
  const char* end = text + std::strlen(text);
  const auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc() || ptr != end || ptr == text || value > max)
    throw UsageError(std::string(option) + ": expected an integer from 0 to " +
                     std::to_string(max) + ", got \"" + text + "\"");
  return value;
}

// The kernel compares lifetimes in signed 64-bit nanoseconds (std::chrono::nanoseconds):
// more milliseconds than that holds would wrap into a tiny threshold.
constexpr std::uint64_t kMaxMinDurationMs =
    static_cast<std::uint64_t>(std::chrono::nanoseconds::max().count()) / 1'000'000;

// getopt keeps global state; optind = 0 makes each parse start afresh.
void reset_getopt() {
  optind = 0;
  opterr = 0;
}

[[noreturn]] void unknown_option(char* const argv[]) {
  throw UsageError(std::string("unknown or incomplete option \"") + argv[optind - 1] + "\"");
}

CommandLine parse_daemon(int argc, char* const argv[]) {
  enum { kConfig = 1, kListen, kWebConfigFile, kCheckConfig, kVersion, kHelp };
  static const option kOptions[] = {
      {"config", required_argument, nullptr, kConfig},
      {"listen", required_argument, nullptr, kListen},
      {"web.config.file", required_argument, nullptr, kWebConfigFile},
      {"check-config", no_argument, nullptr, kCheckConfig},
      {"version", no_argument, nullptr, kVersion},
      {"help", no_argument, nullptr, kHelp},
      {nullptr, 0, nullptr, 0},
  };
  CommandLine cli;
  reset_getopt();
  for (int opt; (opt = getopt_long(argc, argv, "+h", kOptions, nullptr)) != -1;) {
    switch (opt) {
      case kConfig:
        cli.daemon.config_path = optarg;
        break;
      case kListen:
        cli.daemon.listen = optarg;
        break;
      case kWebConfigFile:
        cli.daemon.web_config_file = optarg;
        break;
      case kCheckConfig:
        cli.daemon.check_config = true;
        break;
      case kVersion:
        cli.action = CommandLine::Action::kVersion;
        return cli;
      case 'h':
      case kHelp:
        cli.action = CommandLine::Action::kHelp;
        return cli;
      default:
        unknown_option(argv);
    }
  }
  if (optind < argc) throw UsageError(std::string("unexpected argument \"") + argv[optind] + "\"");
  if (cli.daemon.check_config) cli.action = CommandLine::Action::kCheckConfig;
  return cli;
}

CommandLine parse_trace(int argc, char* const argv[]) {
  enum { kJson = 1, kComm, kExcludeComm, kUnit, kUid, kPid, kFailed, kUnexpected, kConfig, kHelp };
  static const option kOptions[] = {
      {"json", no_argument, nullptr, kJson},
      {"min-duration", required_argument, nullptr, 'd'},
      {"comm", required_argument, nullptr, kComm},
      {"exclude-comm", required_argument, nullptr, kExcludeComm},
      {"unit", required_argument, nullptr, kUnit},
      {"uid", required_argument, nullptr, kUid},
      {"pid", required_argument, nullptr, kPid},
      {"failed", no_argument, nullptr, kFailed},
      {"unexpected", no_argument, nullptr, kUnexpected},
      {"config", required_argument, nullptr, kConfig},
      {"help", no_argument, nullptr, kHelp},
      {nullptr, 0, nullptr, 0},
  };
  CommandLine cli;
  cli.action = CommandLine::Action::kTrace;
  TraceOptions& trace = cli.trace;
  reset_getopt();
  for (int opt; (opt = getopt_long(argc, argv, "+d:h", kOptions, nullptr)) != -1;) {
    switch (opt) {
      case kJson:
        trace.json = true;
        break;
      case 'd':
        trace.min_duration_ms =
            parse_number<std::uint64_t>("--min-duration", optarg, kMaxMinDurationMs);
        break;
      case kComm:
        trace.include_comms.emplace_back(optarg);
        break;
      case kExcludeComm:
        trace.exclude_comms.emplace_back(optarg);
        break;
      case kUnit:
        trace.include_units.emplace_back(optarg);
        break;
      case kUid:
        trace.uid = parse_number<std::uint32_t>("--uid", optarg);
        break;
      case kPid:
        trace.pid = parse_number<std::uint32_t>("--pid", optarg);
        break;
      case kFailed:
        trace.failed_only = true;
        break;
      case kUnexpected:
        trace.unexpected_only = true;
        break;
      case kConfig:
        trace.config_path = optarg;
        break;
      case 'h':
      case kHelp:
        cli.action = CommandLine::Action::kTraceHelp;
        return cli;
      default:
        unknown_option(argv);
    }
  }
  if (optind < argc) throw UsageError(std::string("unexpected argument \"") + argv[optind] + "\"");
  return cli;
}

}  // namespace

CommandLine parse_command_line(int argc, char* const argv[]) {
  if (argc > 1 && std::string_view(argv[1]) == "trace") {
    try {
      return parse_trace(argc - 1, argv + 1);
    } catch (const UsageError& error) {
      throw UsageError(error.what(), trace_usage_text());
    }
  }
  return parse_daemon(argc, argv);
}

const char* usage_text() {
  return R"(Usage: execmond [--config PATH] [--listen HOST:PORT] [--web.config.file PATH]
                [--check-config]
       execmond trace [OPTIONS]   (live view of execs and exits; see execmond trace --help)

Counts every exec and process exit on this host with eBPF and serves them to
Prometheus on /metrics.

Options:
  --config PATH        read the configuration from PATH (default: the embedded
                       default, identical to config/execmond.yaml)
  --listen HOST:PORT   serve /metrics on HOST:PORT, overriding the configuration
  --web.config.file PATH
                       TLS and basic auth of /metrics (Prometheus exporter-toolkit
                       format), overriding the web_config_file key
  --check-config       validate the configuration, print the result and exit
  --version            print the version and exit
  -h, --help           print this help and exit

Exit codes: 0 ok, 1 run-time failure, 2 bad command line, 3 invalid configuration,
4 not allowed to load BPF programs, 5 kernel unsupported (no BTF or programs refused),
6 cannot listen on the /metrics address.
)";
}

const char* trace_usage_text() {
  return R"(Usage: execmond trace [--json] [-d MS] [--comm GLOB]... [--exclude-comm GLOB]...
                      [--unit GLOB]... [--uid UID] [--pid PID] [--failed]
                      [--unexpected [--config PATH]]

Prints one line per exec, exit and failed exec as it happens, until interrupted.
Each exec shows the resolved path of the file that ran (JSON: "path", and for a
script "interpreter").

Options:
  --json                  one JSON object per line instead of a table
  -d, --min-duration MS   only exits of processes that lived at least MS milliseconds
  --comm GLOB             only processes whose name matches GLOB (repeatable)
  --exclude-comm GLOB     not processes whose name matches GLOB (repeatable)
  --unit GLOB             only processes whose systemd unit (the UNIT column, the
                          "unit" field) matches GLOB, e.g. "nginx.service" (repeatable);
                          a user's units are user@UID.service/NAME, and * and ? do
                          not match their "/" ("user@*.service/*" does)
  --uid UID               only processes of this user id
  --pid PID               only this process and its direct children
  --failed                only failed execs
  --unexpected            only execs of binaries outside the allow-list: the
                          "binaries: allow:" section of the daemon's configuration
  --config PATH           the configuration --unexpected reads (default: the
                          embedded default, identical to config/execmond.yaml)
  -h, --help              print this help and exit
)";
}

}  // namespace execmond

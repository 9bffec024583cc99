#include "daemon.h"

#include <bpf/libbpf.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <string>

#include "bpf/libbpf_logging.h"
#include "bpf/process_probes.h"
#include "bpf/ring_buffer_reader.h"
#include "config/config.h"
#include "config/units.h"
#include "exit_codes.h"
#include "metrics/bpf_program_metrics.h"
#include "metrics/dropped_events.h"
#include "metrics/event_recorder.h"
#include "metrics/process_metrics.h"
#include "service/listen_check.h"
#include "service/logging.h"
#include "service/shutdown_signal.h"
#include "service/systemd_notify.h"
#include "version.h"

namespace execmond {
namespace {

struct LoadedConfig {
  Config config;
  std::string source;
};

LoadedConfig load_config(const DaemonOptions& options) {
  LoadedConfig loaded;
  if (options.config_path) {
    loaded.source = *options.config_path;
    loaded.config = load_config_file(*options.config_path);
  } else {
    loaded.source = "<embedded default>";
    loaded.config = parse_config(embedded_default_config(), loaded.source);
  }
  if (options.listen) {
    try {
      parse_listen_address(*options.listen);
    } catch (const InvalidValue& error) {
      throw ConfigError("--listen: " + std::string(error.what()) + ", got \"" + *options.listen +
                        "\"");
    }
    loaded.config.listen = *options.listen;
  }
  return loaded;
}

std::shared_ptr<prometheus::Registry> build_info_registry() {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& family = prometheus::BuildGauge()
                     .Name("execmond_build_info")
                     .Help("Always 1: the version of execmond and of the libbpf it runs on")
                     .Register(*registry);
  family
      .Add({{"version", EXECMOND_VERSION},
            {"libbpf_version", std::to_string(libbpf_major_version()) + "." +
                                   std::to_string(libbpf_minor_version())}})
      .Set(1);
  return registry;
}

ProbeOptions probe_options(const Config& config) {
  ProbeOptions options;
  options.ring_buffer_size = config.ring_buffer_size;
  options.min_duration = config.min_duration;
  options.exec_failures = config.exec_failures;
  // A quarter full wakes the reader at once; less waits for its periodic poll.
  options.wakeup_bytes = config.ring_buffer_size / 4;
  return options;
}

int exit_code_for(const ProbeError& error) {
  return error.cause() == ProbeError::Cause::kNoPrivilege ? exit_code::kNoPrivilege
                                                          : exit_code::kKernelUnsupported;
}

}  // namespace

int check_config(const DaemonOptions& options) {
  try {
    const LoadedConfig loaded = load_config(options);
    std::printf("%s: configuration is valid\n", loaded.source.c_str());
    return exit_code::kOk;
  } catch (const ConfigError& error) {
    std::fprintf(stderr, "execmond: %s\n", error.what());
    return exit_code::kConfigInvalid;
  }
}

int run_daemon(const DaemonOptions& options) {
  LoadedConfig loaded;
  try {
    loaded = load_config(options);
  } catch (const ConfigError& error) {
    std::fprintf(stderr, "execmond: %s\n", error.what());
    return exit_code::kConfigInvalid;
  }
  const Config& config = loaded.config;
  setup_logging(config.log_level);
  route_libbpf_logs_to_spdlog();
  spdlog::info("execmond {} starting with configuration from {}", EXECMOND_VERSION, loaded.source);

  // Before any thread exists, so that every thread inherits the blocked signals.
  ShutdownSignal shutdown_signal;

  auto metrics = std::make_shared<ProcessMetrics>(
      MetricsOptions{config.max_comm_series, config.include_comms, config.exclude_comms});
  EventRecorder recorder(*metrics);

  std::unique_ptr<ProcessProbes> probes;
  std::unique_ptr<prometheus::Exposer> exposer;
  std::unique_ptr<RingBufferReader> reader;

  // Bind first: a port in use is found before anything is loaded into the kernel.
  const ListenAddress listen_address = parse_listen_address(config.listen);
  if (auto problem = why_cannot_listen(listen_address)) {
    spdlog::critical("cannot serve /metrics on {}: {}", config.listen, *problem);
    return exit_code::kCannotListen;
  }
  try {
    exposer = std::make_unique<prometheus::Exposer>(civetweb_listening_port(listen_address));
  } catch (const std::exception& error) {
    spdlog::critical("cannot serve /metrics on {}: {}", config.listen, error.what());
    return exit_code::kCannotListen;
  }

  try {
    probes = ProcessProbes::attach(probe_options(config));
  } catch (const ProbeError& error) {
    spdlog::critical("{}", error.what());
    return exit_code_for(error);
  }
  spdlog::info("attached {} ({})", fmt::join(probes->attached_programs(), ", "),
               probes->tracks_exec_time()
                   ? "task storage: lifetimes start at exec"
                   : "no task storage on this kernel: lifetimes start at fork");

  const ProcessProbes* kernel_side = probes.get();
  auto dropped = std::make_shared<DroppedEventsCollector>(
      [kernel_side] { return kernel_side->dropped_events(); });
  auto bpf_programs = std::make_shared<BpfProgramCollector>([kernel_side] {
    std::vector<ProgramRunTime> programs;
    for (const ProgramStats& p : kernel_side->program_stats())
      programs.push_back({p.name, p.run_time_ns, p.run_count});
    return programs;
  });
  auto build_info = build_info_registry();
  exposer->RegisterCollectable(metrics);
  exposer->RegisterCollectable(dropped);
  if (probes->has_program_stats()) exposer->RegisterCollectable(bpf_programs);
  exposer->RegisterCollectable(build_info);

  try {
    reader = std::make_unique<RingBufferReader>(probes->ring_buffer_fd(), recorder,
                                                config.poll_interval);
  } catch (const std::exception& error) {
    spdlog::critical("{}", error.what());
    return exit_code::kRuntimeFailure;
  }

  const auto ports = exposer->GetListeningPorts();
  const std::string status = "serving /metrics on " + config.listen +
                             (ports.empty() ? "" : " (port " + std::to_string(ports[0]) + ")");
  notify_ready(status);
  spdlog::info("ready: {}", status);

  const int signal = shutdown_signal.wait();
  notify_stopping();
  spdlog::info("{} received: shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
  reader.reset();
  // Detach before stopping the HTTP server, which takes civetweb up to 2 s. Removal
  // waits for a scrape that is reading the kernel's counters.
  exposer->RemoveCollectable(dropped);
  exposer->RemoveCollectable(bpf_programs);
  probes.reset();
  spdlog::info("programs detached");
  exposer.reset();
  return exit_code::kOk;
}

}  // namespace execmond

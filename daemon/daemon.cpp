// SPDX-License-Identifier: Apache-2.0
#include "daemon.h"

#include <bpf/libbpf.h>
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "binaries/binaries_pipeline.h"
#include "binaries/binary_allow_list.h"
#include "binaries/content_metrics.h"
#include "binaries/content_verdicts.h"
#include "cgroups/cgroup_resolver.h"
#include "cgroups/unified_hierarchy.h"
#include "config/config.h"
#include "config/units.h"
#include "http/descriptor_budget.h"
#include "http/endpoint_security.h"
#include "http/metrics_server.h"
#include "metrics/bpf_program_metrics.h"
#include "metrics/build_info.h"
#include "metrics/cgroup_metrics.h"
#include "metrics/dropped_events.h"
#include "metrics/process_metrics.h"
#include "metrics/reload_status.h"
#include "metrics/self_metrics.h"
#include "metrics/unexpected_binary_metrics.h"
#include "reload_plan.h"
#include "runtime/event_recorder.h"
#include "runtime/runner.h"
#include "service/exit_codes.h"
#include "service/systemd_notify.h"
#include "service/watchdog.h"
#include "version.h"

namespace execmond {
namespace {

struct LoadedConfig {
  Config config;
  std::string source;
  std::shared_ptr<const http::EndpointSecurity> security;
};

// --web.config.file wins over the key; a relative path in the file is taken from the
// file's directory, as the web configuration takes its own certificate paths.
std::optional<std::string> web_config_file(const DaemonOptions& options, const Config& config) {
  if (options.web_config_file) return options.web_config_file;
  if (config.web_config_file.empty()) return std::nullopt;
  if (config.web_config_file.front() == '/' || !options.config_path) return config.web_config_file;
  const auto slash = options.config_path->rfind('/');
  if (slash == std::string::npos) return config.web_config_file;
  return options.config_path->substr(0, slash + 1) + config.web_config_file;
}

// The file (or the embedded default), with the command line's overrides applied, and the
// web configuration it names read and checked.
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
  try {
    loaded.security = http::load_endpoint_security(web_config_file(options, loaded.config));
  } catch (const ConfigError& error) {
    // A file the configuration names and that cannot be read: say which line named it.
    const std::string_view message = error.what();
    if (options.web_config_file || loaded.config.web_config_file_at.empty() ||
        message.substr(0, 12) != "cannot read ") {
      throw;
    }
    throw ConfigError(loaded.config.web_config_file_at + ": web_config_file: " + error.what());
  }
  return loaded;
}

// Keys of the web configuration accepted but ignored (shared with other exporters).
void log_web_config_notes(const http::EndpointSecurity& security) {
  for (const std::string& note : security.notes) spdlog::info("{}", note);
}

std::shared_ptr<BuildInfo> build_info() {
  return std::make_shared<BuildInfo>(
      EXECMOND_VERSION,
      std::to_string(libbpf_major_version()) + "." + std::to_string(libbpf_minor_version()));
}

ProbeOptions probe_options(const Config& config) {
  ProbeOptions options;
  options.ring_buffer_size = config.ring_buffer_size;
  options.min_duration = config.min_duration;
  options.exec_failures = config.exec_failures;
  // A quarter full wakes the reader at once; less waits for its periodic poll.
  options.wakeup_bytes = config.ring_buffer_size / 4;
  options.resolve_binaries = config.allowed_binaries.has_value();
  return options;
}

// Only the unit and container labels need cgroups resolved.
std::unique_ptr<CgroupResolver> cgroup_resolver(const Config& config) {
  if (!config.series.unit_label && !config.series.container_label) return nullptr;
  const std::optional<std::string> hierarchy = locate_unified_hierarchy();
  if (hierarchy) {
    try {
      auto resolver = std::make_unique<CgroupResolver>(*hierarchy, CgroupResolver::Limits{});
      spdlog::info("resolving units and containers from the cgroup hierarchy at {}{}", *hierarchy,
                   resolver->watching() ? ", watching for new cgroups"
                                        : " (no inotify: cgroups gone before their records "
                                          "are read count as execmond_unresolved)");
      return resolver;
    } catch (const std::system_error& error) {
      spdlog::warn("{}: every process counts under unit=\"execmond_unresolved\"", error.what());
    }
  } else {
    spdlog::warn(
        "no cgroup v2 hierarchy is mounted: every process counts under "
        "unit=\"execmond_unresolved\"");
  }
  return std::make_unique<CgroupResolver>("", CgroupResolver::Limits{});
}

// The running daemon: what it attached, counts and serves, and how it reloads.
class Daemon {
 public:
  Daemon(const DaemonOptions& options, LoadedConfig loaded, Runner& runner)
      : options_(options),
        config_(std::move(loaded.config)),
        security_(std::move(loaded.security)),
        runner_(runner) {}

  // Binds, attaches and starts reading; nullopt once ready, else the exit code.
  std::optional<int> start();
  // Until SIGTERM/SIGINT (exit 0) or the reader's failure (exit 1).
  int serve();
  void stop();

 private:
  void reload();
  bool run(ReloadAction action, const Config& next);
  void switch_allow_list(const std::optional<std::vector<std::string>>& patterns, bool packaged);

  const DaemonOptions& options_;
  Config config_;  // what runs now
  std::shared_ptr<const http::EndpointSecurity> security_;
  Runner& runner_;
  SystemdWatchdog watchdog_;
  std::shared_ptr<ProcessMetrics> metrics_;
  std::unique_ptr<CgroupResolver> cgroups_;  // only with the unit or container label
  std::shared_ptr<CgroupMetrics> cgroup_metrics_;
  std::unique_ptr<EventRecorder> recorder_;
  // The binaries stage exists even with the feature off, so that a reload can turn it on.
  std::shared_ptr<UnexpectedBinaryMetrics> unexpected_metrics_;
  UnexpectedExecLog unexpected_log_;
  std::unique_ptr<BinariesPipeline> binaries_;
  // What the files are (issue 14): digests, packages, drift. Its answers come back on the
  // reader, once it runs.
  std::unique_ptr<ContentVerdicts> content_;
  std::shared_ptr<ContentMetrics> content_metrics_;
  std::atomic<bool> reader_running_{false};
  std::unique_ptr<http::MetricsServer> server_;
  std::shared_ptr<DroppedEventsCollector> dropped_;
  std::shared_ptr<BpfProgramCollector> bpf_programs_;
  // The server holds weak references: these live as long as the daemon.
  std::shared_ptr<ReloadStatus> reload_status_ = std::make_shared<ReloadStatus>();
  std::shared_ptr<BuildInfo> build_info_ = build_info();
  std::shared_ptr<SelfMetrics> self_metrics_ = std::make_shared<SelfMetrics>();
};

std::optional<int> Daemon::start() {
  // Every series a reload may allow is reserved now; untouched, it costs no memory.
  metrics_ = std::make_shared<ProcessMetrics>(config_.series, kMaxCommSeries);
  cgroups_ = cgroup_resolver(config_);
  recorder_ = std::make_unique<EventRecorder>(*metrics_, cgroups_.get());
  // labels: [..., container]: unexpected execs name their container too (drift).
  unexpected_metrics_ = std::make_shared<UnexpectedBinaryMetrics>(config_.series.container_label);

  // Bind first: a port in use is found before anything is loaded into the kernel.
  try {
    server_ =
        std::make_unique<http::MetricsServer>(parse_listen_address(config_.listen), security_);
  } catch (const std::exception& error) {
    spdlog::critical("cannot serve /metrics on {}: {}", config_.listen, error.what());
    return exit_code::kCannotListen;
  }

  if (auto failed = runner_.attach(probe_options(config_))) return failed;
  ProcessProbes& probes = runner_.probes();
  spdlog::info("attached {} ({})", fmt::join(probes.attached_programs(), ", "),
               probes.tracks_exec_time()
                   ? "task storage: lifetimes start at exec"
                   : "no task storage on this kernel: lifetimes start at fork");

  // Judged from the first record: the list is in place before the reader starts.
  binaries_ = std::make_unique<BinariesPipeline>(probes, *unexpected_metrics_, unexpected_log_,
                                                 UnexpectedBinaries::KernelVerdicts::kAll);
  UnexpectedBinaries* stage = &binaries_->stage();
  content_ = std::make_unique<ContentVerdicts>(
      binaries_->host_root(),
      [this](std::function<void()> work) {
        // Nothing waits for an answer before the reader runs: only the package watcher's
        // first load posts then, and it has nothing to tell yet.
        if (reader_running_.load(std::memory_order_acquire)) runner_.reader().post(std::move(work));
      },
      [stage](const execmond_binary_id& key, ContentAnswer answer, std::string_view) {
        stage->on_content_verdict(key, std::move(answer));
      },
      [stage](const execmond_binary_id& key, const ContentAnswer& answer, std::string_view name) {
        stage->on_content_hash(key, answer, name);
      });
  content_metrics_ = std::make_shared<ContentMetrics>(content_->identity());
  stage->set_content_judge(content_.get());
  if (cgroups_ && config_.series.container_label) {
    CgroupResolver* cgroups = cgroups_.get();
    stage->set_container_labels([cgroups](std::uint64_t cgroup_id) {
      const InternedName* container = cgroups->labels_for(cgroup_id).container;
      return container ? container->text : std::string_view();
    });
  }
  stage->set_unexpected_files(&content_metrics_->unexpected_files());
  if (config_.allowed_binaries) {
    content_->configure(*config_.allowed_binaries, config_.packaged_binaries);
    binaries_->stage().replace_allow_list(BinaryAllowList(*config_.allowed_binaries));
  }
  recorder_->send_binaries_to(&binaries_->stage());
  if (config_.allowed_binaries) {
    spdlog::info("binaries: {} allow-list patterns; unexpected execs are counted and logged",
                 config_.allowed_binaries->size());
    spdlog::info("{}", binaries_->describe(runner_.probes().variant().script_hook));
  }

  const ProcessProbes* kernel_side = &probes;
  dropped_ = std::make_shared<DroppedEventsCollector>([kernel_side] {
    const auto dropped = kernel_side->dropped_events_by_kind();
    return LostRecords{dropped[EXECMOND_DROP_EXEC], dropped[EXECMOND_DROP_EXIT],
                       dropped[EXECMOND_DROP_EXEC_FAILED], dropped[EXECMOND_DROP_BINARY]};
  });
  bpf_programs_ = std::make_shared<BpfProgramCollector>(
      [kernel_side] { return kernel_side->has_program_stats(); },
      [kernel_side] {
        std::vector<ProgramRunTime> programs;
        for (const ProgramStats& p : kernel_side->program_stats())
          programs.push_back({p.name, p.run_time_ns, p.run_count});
        return programs;
      });
  server_->add_collector(metrics_);
  server_->add_collector(dropped_);
  server_->add_collector(bpf_programs_);
  server_->add_collector(unexpected_metrics_);
  server_->add_collector(content_metrics_);
  server_->add_collector(build_info_);
  server_->add_collector(reload_status_);
  server_->add_collector(self_metrics_);
  if (cgroups_) {
    cgroup_metrics_ = std::make_shared<CgroupMetrics>(*cgroups_);
    server_->add_collector(cgroup_metrics_);
  }

  // The reader proves it is alive to systemd's watchdog: a stuck reader is restarted.
  // After each drain it also stamps the time on the series table and expires idle series.
  try {
    // Also the binaries stage's clock: late content verdicts, the log budget's summary.
    runner_.start_reader(*recorder_, config_.poll_interval, [this] {
      watchdog_.pet();
      metrics_->maintain(ProcessMetrics::Clock::now());
      timespec now{};
      ::clock_gettime(CLOCK_BOOTTIME, &now);
      binaries_->stage().tick(static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u +
                              static_cast<std::uint64_t>(now.tv_nsec));
    });
    reader_running_.store(true, std::memory_order_release);
  } catch (const std::exception& error) {
    spdlog::critical("{}", error.what());
    return exit_code::kRuntimeFailure;
  }

  // Everything else is open now: what the descriptor limit leaves is for connections.
  server_->fit_connection_table();

  const std::string status = "serving /metrics on " + config_.listen + " (port " +
                             std::to_string(server_->port()) + "), " + security_->describe();
  server_->mark_ready();
  notify_ready(status);
  spdlog::info("ready: {}", status);
  return std::nullopt;
}

int Daemon::serve() {
  for (;;) {
    const Runner::Event event = runner_.wait(server_->failure_fd());
    switch (event.wake) {
      case Runner::Wake::kReload:
        reload();
        break;
      case Runner::Wake::kServerFailed:
        // Nobody can scrape it: a host that looks healthy but cannot be read is worse
        // than one that restarts.
        spdlog::critical(
            "the /metrics server failed ({}): exiting so that the service manager restarts "
            "execmond",
            server_->failure());
        return exit_code::kRuntimeFailure;
      case Runner::Wake::kReaderFailed:
        // Serving numbers nobody updates would look healthy while counting nothing.
        spdlog::critical(
            "the ring buffer reader failed ({}): exiting so that the service "
            "manager restarts execmond",
            runner_.reader().failure());
        return exit_code::kRuntimeFailure;
      case Runner::Wake::kShutdown:
        notify_stopping();
        spdlog::info("{} received: shutting down", service_signal_name(event.signal));
        return exit_code::kOk;
    }
  }
}

void Daemon::stop() {
  runner_.stop_reader();
  // Removal waits for a scrape that is reading the kernel's counters or the resolver.
  if (server_ && dropped_) server_->remove_collector(dropped_);
  if (server_ && bpf_programs_) server_->remove_collector(bpf_programs_);
  if (server_ && cgroup_metrics_) server_->remove_collector(cgroup_metrics_);
  if (recorder_) recorder_->send_binaries_to(nullptr);
  // The content judge's threads stop first (they post to the stopped reader, and the
  // stage holds it); its metrics go before it.
  if (server_ && content_metrics_) server_->remove_collector(content_metrics_);
  if (binaries_) binaries_->stage().set_unexpected_files(nullptr);
  if (binaries_) binaries_->stage().set_content_judge(nullptr);
  content_.reset();
  binaries_.reset();  // it writes to the programs' cache of allowed binaries
  runner_.detach();
  spdlog::info("programs detached");
  server_.reset();
}

// SIGHUP: read the configuration again and apply what changed, resetting no counter. A
// configuration that does not load changes nothing.
void Daemon::reload() {
  notify_reloading();
  spdlog::info("SIGHUP received: reloading the configuration");
  LoadedConfig next;
  try {
    next = load_config(options_);
  } catch (const ConfigError& error) {
    reload_status_->record_failure();
    spdlog::error("reload failed, still running on the previous configuration: {}", error.what());
    notify_ready("reload failed: " + std::string(error.what()));
    return;
  }
  const ReloadPlan plan = plan_reload(config_, next.config);
  // Binding is the one step that can fail: it runs first, before anything has changed.
  for (const ReloadAction action : plan.actions) {
    if (!run(action, plan.effective)) return;
  }
  // Certificates and passwords are read again on every reload, changed file or not.
  security_ = next.security;
  log_web_config_notes(*security_);
  server_->reload(security_);
  for (const SettingChange& change : plan.changes) {
    if (change.in_place) {
      spdlog::info("reload: applied the new {}", change.name);
    } else {
      spdlog::warn(
          "reload: {} changed, but it only takes effect when execmond restarts; "
          "keeping the running value until then",
          change.name);
    }
  }
  if (plan.changes.empty()) spdlog::info("reload: the configuration did not change");
  config_ = plan.effective;
  reload_status_->record_success();
  notify_ready("configuration reloaded from " + next.source);
}

// One step of a reload; false when it failed and the reload stops (only binding can).
bool Daemon::run(ReloadAction action, const Config& next) {
  switch (action) {
    case ReloadAction::kRebindListener:
      try {
        server_->rebind(parse_listen_address(next.listen));
      } catch (const std::exception& error) {
        reload_status_->record_failure();
        spdlog::error(
            "reload failed, still running on the previous configuration: cannot serve "
            "/metrics on {}: {}",
            next.listen, error.what());
        notify_ready("reload failed: cannot listen on " + next.listen);
        return false;
      }
      break;
    case ReloadAction::kSetMinDuration:
      runner_.probes().set_min_duration(next.min_duration);
      break;
    case ReloadAction::kApplySeriesSettings:
      // The reader owns the series table: it applies filters and bound between drains.
      runner_.reader().post(
          [metrics = metrics_, settings = next.series] { metrics->apply(settings); });
      break;
    case ReloadAction::kReplaceAllowList:
      switch_allow_list(next.allowed_binaries, next.packaged_binaries);
      break;
    case ReloadAction::kSetPollInterval:
      runner_.reader().set_poll_interval(next.poll_interval);
      break;
    case ReloadAction::kSetLogLevel:
      spdlog::set_level(next.log_level);
      break;
  }
  return true;
}

// The list lives on the reader, the resolution in the kernel: they switch together, in
// the order that never judges an allowed binary by no list (issue 17 item 7). With the
// stage off, records in flight are ignored rather than judged.
void Daemon::switch_allow_list(const std::optional<std::vector<std::string>>& patterns,
                               bool packaged) {
  UnexpectedBinaries* stage = &binaries_->stage();
  ContentVerdicts* content = content_.get();
  if (!patterns) {
    // Off: the kernel stops first, then the stage forgets (records still in the ring
    // buffer find it off).
    runner_.probes().set_resolve_binaries(false);
    runner_.reader().post([stage] { stage->replace_allow_list(std::nullopt); });
    return;
  }
  // On or changed: the new list is in place on the reader before the kernel (again)
  // sends records to judge by it.
  auto installed = std::make_shared<std::promise<void>>();
  std::future<void> done = installed->get_future();
  runner_.reader().post([stage, content, list = *patterns, packaged, installed] {
    content->configure(list, packaged);
    stage->replace_allow_list(BinaryAllowList(list));
    installed->set_value();
  });
  if (done.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
    spdlog::warn("reload: the reader took more than 5 s to take the new allow-list");
  runner_.probes().set_resolve_binaries(true);
  if (!config_.allowed_binaries)
    spdlog::info("{}", binaries_->describe(runner_.probes().variant().script_hook));
}

}  // namespace

int check_config(const DaemonOptions& options) {
  try {
    const LoadedConfig loaded = load_config(options);
    std::printf("%s: configuration is valid\n", loaded.source.c_str());
    if (!loaded.security->source.empty()) {
      std::printf("%s: web configuration is valid: %s\n", loaded.security->source.c_str(),
                  loaded.security->describe().c_str());
      for (const std::string& note : loaded.security->notes)
        std::printf("note: %s\n", note.c_str());
    }
    return exit_code::kOk;
  } catch (const ConfigUncheckable& error) {
    std::fprintf(stderr, "execmond: %s\n", error.what());
    return exit_code::kRuntimeFailure;
  } catch (const ConfigError& error) {
    std::fprintf(stderr, "execmond: %s\n", error.what());
    return exit_code::kConfigInvalid;
  }
}

int run_daemon(const DaemonOptions& options) {
  LoadedConfig loaded;
  try {
    loaded = load_config(options);
  } catch (const ConfigUncheckable& error) {
    std::fprintf(stderr, "execmond: %s\n", error.what());
    return exit_code::kRuntimeFailure;  // not the file's fault: systemd tries again
  } catch (const ConfigError& error) {
    std::fprintf(stderr, "execmond: %s\n", error.what());
    return exit_code::kConfigInvalid;
  }
  Runner runner(loaded.config.log_level);  // before any thread exists
  spdlog::info("execmond {} starting with configuration from {}", EXECMOND_VERSION, loaded.source);
  log_web_config_notes(*loaded.security);
  // Connections need descriptors: the hard limit is ours to take (the soft one is kept low
  // for programs that use select(), which execmond does not).
  const http::DescriptorLimit limit = http::raise_descriptor_limit();
  spdlog::debug("descriptor limit: {} (hard {})", limit.soft, limit.hard);
  Daemon daemon(options, std::move(loaded), runner);
  if (auto failed = daemon.start()) return *failed;
  const int code = daemon.serve();
  daemon.stop();
  return code;
}

}  // namespace execmond

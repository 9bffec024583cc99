// SPDX-License-Identifier: Apache-2.0
#include "trace/trace_command.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "binaries/binaries_pipeline.h"
#include "binaries/binary_allow_list.h"
#include "binaries/content_verdicts.h"
#include "cgroups/cgroup_resolver.h"
#include "cgroups/unified_hierarchy.h"
#include "config/config.h"
#include "metrics/unexpected_binary_metrics.h"
#include "runtime/runner.h"
#include "service/exit_codes.h"
#include "trace/line_writer.h"
#include "trace/trace_filter.h"
#include "trace/trace_printer.h"

namespace execmond {
namespace {

// Ring buffer bytes for the trace: exec records carry argv here, up to ~4.4 KiB each.
constexpr std::size_t kTraceRingBufferSize = std::size_t{16} << 20;
// The reader is woken for every record; this only bounds a missed wake-up.
constexpr std::chrono::milliseconds kTracePollInterval{50};

// Judged binary records wait here for the exec record that follows them (same pid and
// time): records of other CPUs may come in between.
class PendingBinaries {
 public:
  void add(const execmond_binary_event& e, const ExecVerdict& verdict) {
    if (pending_.size() >= kMaxPending) pending_.clear();  // execs lost with the ring full
    Entry& entry = pending_[e.hdr.pid];
    entry.timestamp_ns = e.hdr.timestamp_ns;
    entry.binary.verdict = verdict;
    entry.binary.context = BinaryJudge::context_of(e.ctx);
    entry.binary.binary_flags = e.binary_flags;
    entry.binary.process_path.assign(e.path, strnlen(e.path, sizeof(e.path)));
    entry.binary.script_given.assign(e.script_path, strnlen(e.script_path, sizeof(e.script_path)));
    entry.binary.cwd.assign(e.cwd, strnlen(e.cwd, sizeof(e.cwd)));
  }
  // The exec's judged binary, or nullopt when its record was lost; forgets it.
  std::optional<TracedBinary> take(const execmond_exec_event& e) {
    const auto found = pending_.find(e.hdr.pid);
    if (found == pending_.end()) return std::nullopt;
    std::optional<TracedBinary> binary;
    if (found->second.timestamp_ns == e.hdr.timestamp_ns) binary = std::move(found->second.binary);
    pending_.erase(found);
    return binary;
  }

 private:
  struct Entry {
    std::uint64_t timestamp_ns = 0;
    TracedBinary binary;
  };
  static constexpr std::size_t kMaxPending = 4096;
  std::unordered_map<std::uint32_t, Entry> pending_;
};

// Files whose exec the trace showed without a digest: their "content" lines are shown
// (the others belong to execs a filter hid, or that carried the digest already).
class AwaitedContent {
 public:
  void add(const execmond_binary_id& file) {
    if (files_.size() >= kMaxAwaited) files_.clear();  // answers lost, never memory
    files_.insert(key_of(file));
  }
  // Whether `file` is awaited; a final answer ends the wait.
  bool settle(const execmond_binary_id& file, bool final_answer) {
    const auto found = files_.find(key_of(file));
    if (found == files_.end()) return false;
    if (final_answer) files_.erase(found);
    return true;
  }

 private:
  static constexpr std::size_t kMaxAwaited = 4096;
  // The file's version, whatever view judged it.
  static std::string key_of(const execmond_binary_id& file) {
    execmond_binary_id version{};
    version.ino = file.ino;
    version.ctime_ns = file.ctime_ns;
    version.dev = file.dev;
    return std::string(reinterpret_cast<const char*>(&version), sizeof(version));
  }
  std::unordered_set<std::string> files_;
};

class TraceSink : public RecordSink {
 public:
  // `unexpected_only`: show only execs the binaries pipeline judged unexpected (and no
  // exits or failures).
  TraceSink(const TraceFilter& filter, const TracePrinter& printer, CgroupResolver& cgroups,
            LineWriter& output, UnexpectedBinaries& binaries, bool unexpected_only)
      : filter_(filter),
        printer_(printer),
        cgroups_(cgroups),
        output_(output),
        binaries_(binaries),
        unexpected_only_(unexpected_only) {}

  // Reader thread: what a file's content turned out to be (content_verdicts.h).
  void on_content(const execmond_binary_id& key, const ContentAnswer& answer, std::string_view name,
                  bool final_verdict) {
    if (unexpected_only_) {
      // Its exec was not shown while the verdict waited: this line is the news.
      if (answer.kind != ContentAnswer::Kind::kUnexpected) return;
    } else if (!awaited_.settle(key, final_verdict)) {
      return;  // no exec of this file was shown (filtered out, or it had its digest)
    }
    timespec now{};
    ::clock_gettime(CLOCK_BOOTTIME, &now);
    TracedContent content;
    content.time_ns = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u +
                      static_cast<std::uint64_t>(now.tv_nsec);
    content.path = name;
    content.sha256 = answer.sha256;
    content.final_verdict = final_verdict;
    content.unexpected = answer.kind == ContentAnswer::Kind::kUnexpected;
    content.reason = answer.reason;
    content.grounds = answer.grounds;
    content.binary = key;
    line_.clear();
    printer_.format(line_, content);
    if (!line_.empty()) output_.write(line_);
  }

  void on_record(const void* data, std::size_t size) override {
    line_.clear();
    std::visit(
        [&](auto&& event) {
          using Event = std::decay_t<decltype(event)>;
          if constexpr (std::is_same_v<Event, const execmond_binary_event*>) {
            // The same pipeline as the daemon's: every record judged, as it comes.
            if (const ExecVerdict* verdict = binaries_.on_binary(*event))
              pending_.add(*event, *verdict);
          } else if constexpr (std::is_same_v<Event, MalformedRecord>) {
            spdlog::error("malformed ring buffer record (type {}, {} bytes)", event.type,
                          event.size);
          } else if constexpr (std::is_same_v<Event, const execmond_exec_event*>) {
            on_exec(*event);
          } else {
            constexpr bool kFailure = std::is_same_v<Event, const execmond_exec_failed_event*>;
            const std::string_view unit = unit_of(event->hdr);
            if (!unexpected_only_ && filter_.shows(event->hdr, kFailure, unit))
              printer_.format(line_, *event, unit);
          }
        },
        decode_event(data, size));
    // Unbuffered: each line leaves within ~100 ms of its event, also into a pipe.
    if (!line_.empty()) output_.write(line_);
  }

 private:
  std::string_view unit_of(const execmond_event_header& hdr) {
    return cgroups_.labels_for(hdr.cgroup_id).unit->text;
  }

  void on_exec(const execmond_exec_event& e) {
    const std::optional<TracedBinary> binary = pending_.take(e);
    const std::string_view unit = unit_of(e.hdr);
    if (!filter_.shows(e.hdr, false, unit)) return;
    // A lost binary record leaves the exec unjudged: not shown as unexpected.
    if (unexpected_only_ && (!binary || binary->verdict.allowed)) return;
    printer_.format(line_, e, unit, binary ? &*binary : nullptr);
    // Shown without its digest: the content line that follows belongs with it.
    if (binary && binary->verdict.executable.sha256.empty()) awaited_.add(e.binary);
  }

  const TraceFilter& filter_;
  const TracePrinter& printer_;
  CgroupResolver& cgroups_;
  LineWriter& output_;
  UnexpectedBinaries& binaries_;
  bool unexpected_only_;
  PendingBinaries pending_;
  AwaitedContent awaited_;
  std::string line_;  // reused: one allocation for the whole trace
};

// The UNIT column: every id unresolved when there is no cgroup v2 hierarchy.
std::unique_ptr<CgroupResolver> cgroup_resolver() {
  const std::optional<std::string> hierarchy = locate_unified_hierarchy();
  if (hierarchy) {
    try {
      return std::make_unique<CgroupResolver>(*hierarchy, CgroupResolver::Limits{});
    } catch (const std::system_error& error) {
      spdlog::warn("{}: units are shown as execmond_unresolved", error.what());
    }
  } else {
    spdlog::warn("no cgroup v2 hierarchy is mounted: units are shown as execmond_unresolved");
  }
  return std::make_unique<CgroupResolver>("", CgroupResolver::Limits{});
}

// What the daemon judges by: --config's binaries section, or the embedded default's.
struct JudgedBy {
  std::optional<BinaryAllowList> allow_list;  // none: no section
  std::vector<std::string> entries;           // its globs and sha256: entries
  bool packaged = false;
};

// Without a section, --unexpected has nothing to judge by; the plain trace still names
// every file (and digests it).
JudgedBy trace_allow_list(const TraceOptions& options) {
  const std::string source = options.config_path.value_or("<embedded default>");
  const Config config = options.config_path ? load_config_file(*options.config_path)
                                            : parse_config(embedded_default_config(), source);
  JudgedBy judged;
  if (config.allowed_binaries) {
    judged.allow_list = BinaryAllowList(*config.allowed_binaries);
    judged.entries = *config.allowed_binaries;
    judged.packaged = config.packaged_binaries;
    return judged;
  }
  if (options.unexpected_only)
    throw ConfigError(source + " has no \"binaries: allow:\" section to judge binaries by");
  return judged;
}

}  // namespace

int run_trace(const TraceOptions& options) {
  Runner runner(spdlog::level::warn);  // before any thread exists

  JudgedBy judged;
  const char* const context = options.unexpected_only ? "--unexpected: " : "";
  try {
    judged = trace_allow_list(options);
  } catch (const ConfigUncheckable& error) {
    spdlog::critical("{}{}", context, error.what());
    return exit_code::kRuntimeFailure;
  } catch (const ConfigError& error) {
    spdlog::critical("{}{}", context, error.what());
    return exit_code::kConfigInvalid;
  }

  const WallClock clock;
  const TraceFilter filter(options);
  const auto printer =
      options.json ? make_json_printer(clock) : make_table_printer(clock, options.unexpected_only);
  LineWriter output(STDOUT_FILENO);
  const std::unique_ptr<CgroupResolver> cgroups = cgroup_resolver();

  ProbeOptions probe_options;
  probe_options.ring_buffer_size = kTraceRingBufferSize;
  probe_options.min_duration = std::chrono::milliseconds(options.min_duration_ms);
  probe_options.wakeup_bytes = 0;
  probe_options.capture_args = true;
  probe_options.resolve_binaries = true;  // trace shows the path of every exec

  if (auto failed = runner.attach(probe_options)) return *failed;
  if (options.failed_only && !runner.probes().tracks_exec_failures()) {
    spdlog::critical("--failed: failed execs cannot be traced on this host (see above)");
    return exit_code::kKernelUnsupported;
  }

  // Counted nowhere and logged nowhere: the trace's lines are its output.
  UnexpectedBinaryMetrics unexpected_metrics;
  const UnexpectedExecLog unexpected_log(UnexpectedExecLog::Output::kNone);
  BinariesPipeline binaries(runner.probes(), unexpected_metrics, unexpected_log,
                            UnexpectedBinaries::KernelVerdicts::kLoadersOnly);
  // No list: every file allowed, named all the same.
  binaries.stage().replace_allow_list(judged.allow_list ? std::move(*judged.allow_list)
                                                        : BinaryAllowList({"/**"}));
  TraceSink sink(filter, *printer, *cgroups, output, binaries.stage(), options.unexpected_only);
  // What each file is (issue 14): the same content judge as the daemon's, its late
  // answers printed as "content" lines.
  std::atomic<bool> reader_running{false};
  UnexpectedBinaries* stage = &binaries.stage();
  ContentVerdicts content(
      binaries.host_root(),
      [&runner, &reader_running](std::function<void()> work) {
        if (reader_running.load(std::memory_order_acquire)) runner.reader().post(std::move(work));
      },
      [stage, &sink](const execmond_binary_id& key, ContentAnswer answer, std::string_view name) {
        sink.on_content(key, answer, name, true);
        stage->on_content_verdict(key, std::move(answer));
      },
      [stage, &sink](const execmond_binary_id& key, const ContentAnswer& answer,
                     std::string_view name) {
        sink.on_content(key, answer, name, false);
        stage->on_content_hash(key, answer, name);
      });
  content.configure(judged.entries, judged.packaged);
  stage->set_content_judge(&content);

  output.write(printer->header());
  runner.start_reader(sink, kTracePollInterval);
  reader_running.store(true, std::memory_order_release);
  // Any of SIGTERM, SIGINT and SIGHUP (the terminal went away) ends the trace.
  const Runner::Event event = runner.wait();
  output.cancel();  // the reader may be waiting for room in a pipe nobody reads
  runner.stop_reader();
  stage->set_content_judge(nullptr);
  if (const std::uint64_t lost = runner.probes().dropped_events())
    spdlog::warn("{} events were lost: the ring buffer was full", lost);
  if (event.wake == Runner::Wake::kReaderFailed) {
    spdlog::critical("the ring buffer reader failed: {}", runner.reader().failure());
    return exit_code::kRuntimeFailure;
  }
  return exit_code::kOk;
}

}  // namespace execmond

#include "trace/trace_command.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "cgroups/cgroup_resolver.h"
#include "cgroups/unified_hierarchy.h"
#include "exit_codes.h"
#include "runner.h"
#include "trace/line_writer.h"
#include "trace/trace_filter.h"
#include "trace/trace_printer.h"

namespace execmond {
namespace {

// Ring buffer bytes for the trace: exec records carry argv here, up to ~4.4 KiB each.
constexpr std::size_t kTraceRingBufferSize = std::size_t{16} << 20;
// The reader is woken for every record; this only bounds a missed wake-up.
constexpr std::chrono::milliseconds kTracePollInterval{50};

class TraceSink : public RecordSink {
 public:
  TraceSink(const TraceFilter& filter, const TracePrinter& printer, CgroupResolver& cgroups,
            LineWriter& output)
      : filter_(filter), printer_(printer), cgroups_(cgroups), output_(output) {}

  void on_record(const void* data, std::size_t size) override {
    line_.clear();
    std::visit(
        [&](auto&& event) {
          using Event = std::decay_t<decltype(event)>;
          if constexpr (std::is_same_v<Event, MalformedRecord>) {
            spdlog::error("malformed ring buffer record (type {}, {} bytes)", event.type,
                          event.size);
          } else {
            constexpr bool kFailure = std::is_same_v<Event, const execmond_exec_failed_event*>;
            const std::string_view unit = cgroups_.labels_for(event->hdr.cgroup_id).unit->text;
            if (filter_.shows(event->hdr, kFailure, unit)) printer_.format(line_, *event, unit);
          }
        },
        decode_event(data, size));
    // Unbuffered: each line leaves within ~100 ms of its event, also into a pipe.
    if (!line_.empty()) output_.write(line_);
  }

 private:
  const TraceFilter& filter_;
  const TracePrinter& printer_;
  CgroupResolver& cgroups_;
  LineWriter& output_;
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

}  // namespace

int run_trace(const TraceOptions& options) {
  Runner runner(spdlog::level::warn);  // before any thread exists

  const WallClock clock;
  const TraceFilter filter(options);
  const auto printer = options.json ? make_json_printer(clock) : make_table_printer(clock);
  LineWriter output(STDOUT_FILENO);
  const std::unique_ptr<CgroupResolver> cgroups = cgroup_resolver();
  TraceSink sink(filter, *printer, *cgroups, output);

  ProbeOptions probe_options;
  probe_options.ring_buffer_size = kTraceRingBufferSize;
  probe_options.min_duration = std::chrono::milliseconds(options.min_duration_ms);
  probe_options.wakeup_bytes = 0;
  probe_options.capture_args = true;

  if (auto failed = runner.attach(probe_options)) return *failed;
  if (options.failed_only && !runner.probes().tracks_exec_failures()) {
    spdlog::critical("--failed: failed execs cannot be traced on this host (see above)");
    return exit_code::kKernelUnsupported;
  }

  output.write(printer->header());
  runner.start_reader(sink, kTracePollInterval);
  // Any of SIGTERM, SIGINT and SIGHUP (the terminal went away) ends the trace.
  const Runner::Event event = runner.wait();
  output.cancel();  // the reader may be waiting for room in a pipe nobody reads
  runner.stop_reader();
  if (const std::uint64_t lost = runner.probes().dropped_events())
    spdlog::warn("{} events were lost: the ring buffer was full", lost);
  if (event.wake == Runner::Wake::kReaderFailed) {
    spdlog::critical("the ring buffer reader failed: {}", runner.reader().failure());
    return exit_code::kRuntimeFailure;
  }
  return exit_code::kOk;
}

}  // namespace execmond

// TIME     EVENT COMM             PID     PPID    UNIT                     FILENAME/EXIT CODE
// 17:40:01 EXEC  ls               1235    1234    user-1000.slice          /usr/bin/ls
// 17:40:01 EXIT  ls               1235    1234    user-1000.slice          [0] (12ms)
// 17:40:02 FAIL  bash             1240    1234    cron.service             [ENOENT] /usr/bin/nope
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "events/errno_names.h"
#include "events/printable_bytes.h"
#include "events/signal_names.h"
#include "trace/trace_printer.h"

namespace execmond {
namespace {

void pad_to(std::string& line, std::size_t column) {
  line.append(line.size() < column ? column - line.size() : 1, ' ');
}

class TablePrinter : public TracePrinter {
 public:
  TablePrinter(const WallClock& clock, bool show_verdicts)
      : clock_(clock), show_verdicts_(show_verdicts) {}

  std::string header() const override {
    return "TIME     EVENT COMM             PID     PPID    UNIT                     "
           "FILENAME/EXIT CODE\n";
  }

  void format(std::string& line, const execmond_exec_event& e, std::string_view unit,
              const TracedBinary* binary) const override {
    start(line, "EXEC", e.hdr, unit);
    // The caller's filename; with --unexpected, also what was judged, and why (--json
    // has every name).
    append_path(line, e.filename, e.hdr.flags);
    if (show_verdicts_ && binary && !binary->verdict.allowed) {
      // "[unexpected not_allowed: /tmp/x/evil (euid 1000, userns unprivileged, mntns
      // other, chroot)]": the verdict, and where and as whom it ran.
      const ExecContext& context = binary->context;
      line += " [unexpected ";
      line += reason_label(binary->verdict.reason);
      line += ": ";
      append_escaped_bytes(line, binary->verdict.path);
      line += " (euid " + std::to_string(context.euid);
      if (context.userns)
        line += context.userns_unprivileged ? ", userns unprivileged" : ", userns root-created";
      if (context.mntns_not_hosts) line += ", mntns other";
      if (context.chroot) line += ", chroot";
      line += ")]";
    }
    line += '\n';
  }

  void format(std::string& line, const execmond_exit_event& e,
              std::string_view unit) const override {
    start(line, "EXIT", e.hdr, unit);
    const ExitStatus status = ExitStatus::from_wait_status(e.exit_status);
    line += '[';
    if (status.signaled()) {
      line += signal_name(status.signal);
      if (status.core_dumped) line += " core";
    } else {
      line += std::to_string(status.code);
    }
    line += "] (";
    append_short_duration(line, e.lifetime_ns);
    line += ")\n";
  }

  void format(std::string& line, const execmond_exec_failed_event& e,
              std::string_view unit) const override {
    start(line, "FAIL", e.hdr, unit);
    line += '[';
    line += errno_name(e.error);
    line += "] ";
    append_path(line, e.filename, e.hdr.flags);
    line += '\n';
  }

 private:
  void start(std::string& line, const char* event, const execmond_event_header& hdr,
             std::string_view unit) const {
    const std::size_t base = line.size();
    clock_.append_time_of_day(line, hdr.timestamp_ns);
    line += ' ';
    line += event;
    pad_to(line, base + 15);
    append_escaped_bytes(line, CommName(hdr.comm).view());
    pad_to(line, base + 32);
    line += std::to_string(hdr.pid);
    pad_to(line, base + 40);
    line += std::to_string(hdr.ppid);
    pad_to(line, base + 48);
    line += unit;  // printable already; a long one pushes the last column right
    pad_to(line, base + 73);
  }

  static void append_path(std::string& line, const char (&path)[EXECMOND_FILENAME_LEN],
                          std::uint32_t flags) {
    append_escaped_bytes(line, std::string_view(path, strnlen(path, sizeof(path))));
    if (flags & EXECMOND_FILENAME_TRUNCATED) line += "...";
  }

  const WallClock& clock_;
  bool show_verdicts_;
};

}  // namespace

std::unique_ptr<TracePrinter> make_table_printer(const WallClock& clock, bool show_verdicts) {
  return std::make_unique<TablePrinter>(clock, show_verdicts);
}

}  // namespace execmond

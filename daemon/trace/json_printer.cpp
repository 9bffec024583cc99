// SPDX-License-Identifier: Apache-2.0
// One JSON object per line. Every string is the byte-exact escaped text of
// events/printable_bytes.h, so the output is valid JSON whatever bytes a process put in
// its name, path or arguments.
//
// {"type":"exec","time":"…","pid":1235,"ppid":1234,"parent_comm":"bash","uid":0,"gid":0,
//  "comm":"ls","unit":"cron.service","cgroup":4242,"filename":"/usr/bin/ls",
//  "filename_truncated":false,"path":"/usr/bin/ls","interpreter":null,"unexpected":false,
//  "reason":null,"view":"host","process_path":"/usr/bin/ls","script":null,
//  "script_method":null,"loader":null,"program":null,"cwd":null,"context":{"euid":0,
//  "egid":0,"userns":"initial","userns_level":0,"mntns":"host","chroot":false},
//  "binary_flags":0,"deleted":false,"memfd":false,"path_truncated":false,
//  "argv":["ls","-l"],"argv_truncated":false}
// {"type":"exit",…,"start_time":"…","end_time":"…","lifetime_ns":12000000,
//  "start_is_fork":false,"exit_code":0,"signal":null,"core_dumped":false}
// {"type":"exec_failed",…,"filename":"/usr/bin/nope","errno":"ENOENT","errno_number":2}
// {"type":"content","time":"…","path":"/opt/x","sha256":"…","final":true,"unexpected":true,
//  "reason":"unpackaged","grounds":null,"inode":1234,"dev":"254:0"}
// An exec's "sha256" is its file's content when known at once (seen before); otherwise
// null, and a "content" line follows once the digest is in (with the verdict, "final",
// when the verdict waited for it).
#include <cstring>

#include "events/errno_names.h"
#include "events/printable_bytes.h"
#include "events/signal_names.h"
#include "trace/trace_printer.h"

namespace execmond {
namespace {

// A JSON string of escaped bytes: only `"` and `\` still need JSON's own escape.
void append_json_string(std::string& line, std::string_view bytes) {
  thread_local std::string text;
  text.clear();
  append_escaped_bytes(text, bytes);
  line += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') line += '\\';
    line += c;
  }
  line += '"';
}

std::string_view field_text(const char* field, std::size_t capacity) {
  return {field, strnlen(field, capacity)};
}

void append_key(std::string& line, const char* key) {
  line += ",\"";
  line += key;
  line += "\":";
}

void append_number(std::string& line, const char* key, std::uint64_t value) {
  append_key(line, key);
  line += std::to_string(value);
}

void append_bool(std::string& line, const char* key, bool value) {
  append_key(line, key);
  line += value ? "true" : "false";
}

void append_filename(std::string& line, const char (&filename)[EXECMOND_FILENAME_LEN],
                     std::uint32_t flags) {
  append_key(line, "filename");
  append_json_string(line, field_text(filename, sizeof(filename)));
  append_bool(line, "filename_truncated", flags & EXECMOND_FILENAME_TRUNCATED);
}

void append_optional_string(std::string& line, const char* key, std::string_view text,
                            bool present) {
  append_key(line, key);
  if (present) {
    append_json_string(line, text);
  } else {
    line += "null";
  }
}

void append_null(std::string& line, const char* key) {
  append_key(line, key);
  line += "null";
}

// "path": the name the exec was judged by (the script's, for a script; the program's, for
// a loader); "interpreter": the file that runs a script; "unexpected"/"reason": the
// verdict; the process's own view and context beside them. Null when the binary record
// was lost.
void append_binary(std::string& line, const TracedBinary* binary) {
  if (!binary) {
    for (const char* key :
         {"path", "interpreter", "unexpected", "reason", "view", "process_path", "script",
          "script_method", "loader", "program", "cwd", "sha256", "context"})
      append_null(line, key);
    append_number(line, "binary_flags", 0);
    for (const char* key : {"deleted", "memfd", "path_truncated"}) append_bool(line, key, false);
    return;
  }
  const ExecVerdict& verdict = binary->verdict;
  append_optional_string(line, "path", verdict.path, true);
  append_optional_string(line, "interpreter", verdict.executable.name, verdict.script);
  append_bool(line, "unexpected", !verdict.allowed);
  append_optional_string(line, "reason", reason_label(verdict.reason), !verdict.allowed);
  append_optional_string(line, "view", view_name(verdict.view), true);
  append_optional_string(line, "process_path", binary->process_path, !binary->process_path.empty());
  append_optional_string(line, "script", binary->script_given, verdict.script);
  append_optional_string(line, "script_method", method_name(verdict.method),
                         verdict.method != ResolutionMethod::kNone);
  append_optional_string(line, "loader", verdict.executable.name, verdict.loader);
  append_optional_string(line, "program", verdict.program_given,
                         verdict.loader && !verdict.program_given.empty());
  append_optional_string(line, "cwd", binary->cwd, !binary->cwd.empty());
  // The content of the file that ran (the program, for a loader; none for a script).
  const std::string& sha256 = verdict.executable.sha256;
  append_optional_string(line, "sha256", sha256,
                         !sha256.empty() && !verdict.script && !verdict.loader);
  const ExecContext& context = binary->context;
  append_key(line, "context");
  line += "{\"euid\":" + std::to_string(context.euid);
  line += ",\"egid\":" + std::to_string(context.egid);
  line += ",\"userns\":\"";
  line += !context.userns               ? "initial"
          : context.userns_unprivileged ? "unprivileged"
                                        : "root-created";
  line += "\",\"userns_level\":" + std::to_string(context.userns_level);
  line += ",\"mntns\":\"";
  line += context.mntns_not_hosts ? "other" : "host";
  line += "\",\"chroot\":";
  line += context.chroot ? "true" : "false";
  line += '}';
  const std::uint32_t flags = binary->binary_flags;
  append_number(line, "binary_flags", flags);
  append_bool(line, "deleted", flags & EXECMOND_BINARY_DELETED);
  append_bool(line, "memfd", flags & EXECMOND_BINARY_MEMFD);
  append_bool(line, "path_truncated",
              flags & (EXECMOND_BINARY_PATH_TRUNCATED | EXECMOND_BINARY_SCRIPT_TRUNCATED |
                       EXECMOND_BINARY_FS_PATH_TRUNCATED));
}

class JsonPrinter : public TracePrinter {
 public:
  explicit JsonPrinter(const WallClock& clock) : clock_(clock) {}

  std::string header() const override { return {}; }

  void format(std::string& line, const execmond_exec_event& e, std::string_view unit,
              const TracedBinary* binary) const override {
    start(line, "exec", e.hdr, unit);
    append_time(line, "time", e.hdr.timestamp_ns);
    append_filename(line, e.filename, e.hdr.flags);
    append_binary(line, binary);
    append_key(line, "argv");
    line += '[';
    bool truncated = e.hdr.flags & EXECMOND_ARGS_TRUNCATED;
    std::size_t count = 0;
    for (std::size_t at = 0; at < e.args_size;) {
      if (count == kMaxTracedArgs) {
        truncated = true;
        break;
      }
      const std::string_view arg = field_text(e.args + at, e.args_size - at);
      if (count++ > 0) line += ',';
      append_json_string(line, arg);
      at += arg.size() + 1;
    }
    line += ']';
    append_bool(line, "argv_truncated", truncated);
    line += "}\n";
  }

  void format(std::string& line, const execmond_exit_event& e,
              std::string_view unit) const override {
    start(line, "exit", e.hdr, unit);
    append_time(line, "time", e.hdr.timestamp_ns);
    append_time(line, "start_time", e.start_ns);
    append_time(line, "end_time", e.hdr.timestamp_ns);
    append_number(line, "lifetime_ns", e.lifetime_ns);
    append_bool(line, "start_is_fork", e.hdr.flags & EXECMOND_START_IS_FORK);
    const ExitStatus status = ExitStatus::from_wait_status(e.exit_status);
    append_key(line, "exit_code");
    line += status.signaled() ? "null" : std::to_string(status.code);
    append_key(line, "signal");
    if (status.signaled()) {
      append_json_string(line, signal_name(status.signal));
    } else {
      line += "null";
    }
    append_bool(line, "core_dumped", status.core_dumped);
    line += "}\n";
  }

  void format(std::string& line, const TracedContent& content) const override {
    line += "{\"type\":\"content\"";
    append_time(line, "time", content.time_ns);
    append_key(line, "path");
    append_json_string(line, content.path);
    append_optional_string(line, "sha256", content.sha256, !content.sha256.empty());
    append_bool(line, "final", content.final_verdict);
    append_bool(line, "unexpected", content.unexpected);
    append_optional_string(line, "reason", reason_label(content.reason), content.unexpected);
    append_optional_string(line, "grounds", content.grounds, !content.grounds.empty());
    append_number(line, "inode", content.binary.ino);
    append_key(line, "dev");
    line += '"' + std::to_string(content.binary.dev >> 20) + ":" +
            std::to_string(content.binary.dev & 0xfffff) + '"';
    line += "}\n";
  }

  void format(std::string& line, const execmond_exec_failed_event& e,
              std::string_view unit) const override {
    start(line, "exec_failed", e.hdr, unit);
    append_time(line, "time", e.hdr.timestamp_ns);
    append_filename(line, e.filename, e.hdr.flags);
    append_key(line, "errno");
    append_json_string(line, errno_name(e.error));
    append_number(line, "errno_number", static_cast<std::uint32_t>(e.error));
    line += "}\n";
  }

 private:
  void start(std::string& line, const char* type, const execmond_event_header& hdr,
             std::string_view unit) const {
    line += "{\"type\":\"";
    line += type;
    line += '"';
    append_number(line, "pid", hdr.pid);
    append_number(line, "ppid", hdr.ppid);
    append_key(line, "parent_comm");
    append_json_string(line, CommName(hdr.parent_comm).view());
    append_number(line, "uid", hdr.uid);
    append_number(line, "gid", hdr.gid);
    append_key(line, "comm");
    append_json_string(line, CommName(hdr.comm).view());
    append_key(line, "unit");
    append_json_string(line, unit);
    append_number(line, "cgroup", hdr.cgroup_id);
  }

  void append_time(std::string& line, const char* key, std::uint64_t boot_ns) const {
    append_key(line, key);
    line += '"';
    clock_.append_rfc3339(line, boot_ns);
    line += '"';
  }

  const WallClock& clock_;
};

}  // namespace

std::unique_ptr<TracePrinter> make_json_printer(const WallClock& clock) {
  return std::make_unique<JsonPrinter>(clock);
}

}  // namespace execmond

// execmond_record_probe: the kernel's records as they are, for the integration tests.
//
// Attaches execmond's programs with binaries judged, prints every exec and binary record
// as one JSON object per line on stdout (every field, nothing interpreted), and takes
// commands on stdin, one per line, each answered with {"type":"ack","line":N}:
//   verdict DEV INO CTIME_NS VIEW VERDICT   write a verdict (1 allowed, 2 unexpected,
//                                           3 loader, 4 pending) for that key
//   erase DEV INO CTIME_NS VIEW             forget one
//   clear                                   forget every verdict
// It ends at the end of its input or on SIGTERM/SIGINT. The first line is
// {"type":"ready",...} once the programs are attached.
//
// The daemon judges records (daemon/binaries/); this tool does not, so that a test of
// the record sees exactly what the kernel sent.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>

#include "bpf/process_probes.h"
#include "bpf/ring_buffer_reader.h"
#include "events/printable_bytes.h"
#include "events/records.h"

namespace execmond {
namespace {

std::mutex output_mutex;

void print_line(const std::string& line) {
  std::lock_guard<std::mutex> lock(output_mutex);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

// A JSON string of escaped bytes (events/printable_bytes.h): only `"` and `\` still need
// JSON's own escape.
void append_json_string(std::string& text, std::string_view bytes) {
  std::string escaped;
  append_escaped_bytes(escaped, bytes);
  text += '"';
  for (char c : escaped) {
    if (c == '"' || c == '\\') text += '\\';
    text += c;
  }
  text += '"';
}

class JsonLine {
 public:
  explicit JsonLine(const char* type) { text_ = std::string("{\"type\":\"") + type + '"'; }
  JsonLine& number(const std::string& key, std::uint64_t value) {
    add_key(key);
    text_ += std::to_string(value);
    return *this;
  }
  JsonLine& string(const std::string& key, std::string_view bytes) {
    add_key(key);
    append_json_string(text_, bytes);
    return *this;
  }
  template <std::size_t N>
  JsonLine& field(const std::string& key, const char (&field)[N]) {
    return string(key, {field, strnlen(field, N)});
  }
  // NUL-separated strings, as a list.
  JsonLine& strings(const std::string& key, const char* bytes, std::size_t size) {
    add_key(key);
    text_ += '[';
    std::string_view rest(bytes, size);
    for (bool first = true; !rest.empty(); first = false) {
      const std::size_t end = rest.find('\0');
      if (!first) text_ += ',';
      append_json_string(text_, rest.substr(0, end));
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 1);
    }
    text_ += ']';
    return *this;
  }
  JsonLine& id(const std::string& prefix, const execmond_binary_id& id) {
    return number(prefix + "ino", id.ino)
        .number(prefix + "ctime_ns", id.ctime_ns)
        .number(prefix + "dev", id.dev)
        .number(prefix + "view", id.view);
  }
  JsonLine& header(const execmond_event_header& hdr) {
    return number("pid", hdr.pid)
        .number("ppid", hdr.ppid)
        .number("uid", hdr.uid)
        .number("gid", hdr.gid)
        .number("timestamp_ns", hdr.timestamp_ns)
        .field("comm", hdr.comm)
        .field("parent_comm", hdr.parent_comm);
  }
  std::string done() { return text_ + "}\n"; }

 private:
  void add_key(const std::string& key) {
    text_ += ",\"";
    text_ += key;
    text_ += "\":";
  }
  std::string text_;
};

class RecordPrinter : public RecordSink {
 public:
  void on_record(const void* data, std::size_t size) override {
    const Event event = decode_event(data, size);
    if (const auto* exec = std::get_if<const execmond_exec_event*>(&event)) {
      const execmond_exec_event& e = **exec;
      print_line(JsonLine("exec")
                     .header(e.hdr)
                     .id("", e.binary)
                     .number("binary_flags", e.binary_flags)
                     .done());
    } else if (const auto* binary = std::get_if<const execmond_binary_event*>(&event)) {
      const execmond_binary_event& e = **binary;
      print_line(JsonLine("binary")
                     .header(e.hdr)
                     .id("", e.binary)
                     .number("binary_flags", e.binary_flags)
                     .number("fs_magic", e.fs_magic)
                     .number("euid", e.ctx.euid)
                     .number("egid", e.ctx.egid)
                     .number("userns_level", e.ctx.userns_level)
                     .number("userns_owner", e.ctx.userns_owner)
                     .number("mntns", e.ctx.mntns)
                     .number("ctx_flags", e.ctx.flags)
                     .id("script_", e.script)
                     .field("path", e.path)
                     .field("fs_path", e.fs_path)
                     .field("script_path", e.script_path)
                     .field("cwd", e.cwd)
                     .strings("args", e.args, e.args_size)
                     .done());
    } else if (const auto* bad = std::get_if<MalformedRecord>(&event)) {
      print_line(JsonLine("malformed").number("size", bad->size).number("type", bad->type).done());
    }
  }
};

bool parse_id(std::istringstream& in, execmond_binary_id& id) {
  return static_cast<bool>(in >> id.dev >> id.ino >> id.ctime_ns >> id.view);
}

}  // namespace
}  // namespace execmond

int main() {
  using namespace execmond;
  spdlog::set_default_logger(spdlog::default_logger()->clone("record_probe"));
  spdlog::set_level(spdlog::level::warn);
  // SIGTERM and SIGINT end the process; the programs go with its descriptors.
  ProbeOptions options;
  options.resolve_binaries = true;
  options.exec_failures = false;
  options.wakeup_bytes = 0;  // every record at once
  std::unique_ptr<ProcessProbes> probes;
  try {
    probes = ProcessProbes::attach(options);
  } catch (const ProbeError& e) {
    std::fprintf(stderr, "execmond_record_probe: %s\n", e.what());
    return 4;
  }
  RecordPrinter printer;
  RingBufferReader reader(probes->ring_buffer_fd(), printer, std::chrono::milliseconds(20));
  print_line(JsonLine("ready")
                 .number("host_mntns", probes->host_mntns())
                 .number("script_hook", probes->variant().script_hook)
                 .done());

  std::string line;
  std::uint64_t number = 0;
  while (std::getline(std::cin, line)) {
    ++number;
    std::istringstream in(line);
    std::string command;
    in >> command;
    execmond_binary_id id{};
    bool ok = true;
    if (command == "verdict") {
      unsigned verdict = 0;
      ok = parse_id(in, id) && static_cast<bool>(in >> verdict);
      if (ok) probes->write(id, static_cast<execmond_verdict>(verdict));
    } else if (command == "erase") {
      ok = parse_id(in, id);
      if (ok) probes->erase(id);
    } else if (command == "clear") {
      probes->clear();
    } else {
      ok = false;
    }
    print_line(JsonLine(ok ? "ack" : "nack").number("line", number).done());
  }
  reader.stop();
  return 0;
}

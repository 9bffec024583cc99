// SPDX-License-Identifier: Apache-2.0
#include "binaries/unexpected_exec_log.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "binaries/mount_table.h"
#include "events/printable_bytes.h"
#include "service/libsystemd.h"
#include "service/logging.h"

namespace execmond {
namespace {

std::string escaped(std::string_view bytes) {
  std::string text;
  append_escaped_bytes(text, bytes);
  return text;
}

// What kind of name the path is, when it is not an ordinary one.
std::string qualifiers(std::uint32_t flags) {
  std::string text;
  const auto add = [&text](const char* word) {
    text += text.empty() ? "" : ",";
    text += word;
  };
  if (flags & EXECMOND_BINARY_MEMFD) add("memfd");
  if (flags & EXECMOND_BINARY_DELETED) add("deleted");
  if (flags & (EXECMOND_BINARY_PATH_TRUNCATED | EXECMOND_BINARY_SCRIPT_TRUNCATED |
               EXECMOND_BINARY_FS_PATH_TRUNCATED))
    add("truncated");
  if (flags & EXECMOND_BINARY_UNREACHABLE) add("outside-root");
  if (flags & EXECMOND_BINARY_OVERLAY_UPPER) add("overlay-upper");
  if (flags & EXECMOND_BINARY_SCRIPT) add("script");
  if (flags & EXECMOND_BINARY_LOADER) add("loader");
  return text.empty() ? "none" : text;
}

std::string user_namespace(const ExecContext* context) {
  if (!context) return "unknown";
  if (!context->userns) return "initial";
  return context->userns_unprivileged ? "unprivileged" : "root-created";
}

std::string mount_namespace(const ExecContext* context) {
  if (!context) return "unknown";
  return context->mntns_not_hosts ? "other" : "host";
}

std::string yes_no(const ExecContext* context, bool value) {
  if (!context) return "unknown";
  return value ? "yes" : "no";
}

// Every fact as (journald field, logfmt key, value), in the order a person reads them.
using Fact = UnexpectedExecLine::Fact;

std::vector<Fact> facts_of(const UnexpectedExec& exec) {
  const execmond_event_header& hdr = *exec.hdr;
  const ExecVerdict* verdict = exec.verdict;
  std::vector<Fact> facts = {
      {"EXECMOND_PATH", "path", escaped(exec.path)},
      {"EXECMOND_REASON", "reason", std::string(reason_label(exec.reason))},
      {"EXECMOND_VIEW", "view", std::string(view_name(exec.view))},
      {"EXECMOND_COMM", "comm", escaped(CommName(hdr.comm).view())},
      {"EXECMOND_PID", "pid", std::to_string(hdr.pid)},
      {"EXECMOND_PPID", "ppid", std::to_string(hdr.ppid)},
      {"EXECMOND_PARENT_COMM", "parent_comm", escaped(CommName(hdr.parent_comm).view())},
      {"EXECMOND_UID", "uid", std::to_string(hdr.uid)},
      {"EXECMOND_EUID", "euid",
       exec.context ? std::to_string(exec.context->euid) : std::string("unknown")},
      {"EXECMOND_GID", "gid", std::to_string(hdr.gid)},
      {"EXECMOND_USERNS", "userns", user_namespace(exec.context)},
      {"EXECMOND_MNTNS", "mntns", mount_namespace(exec.context)},
      {"EXECMOND_CHROOT", "chroot", yes_no(exec.context, exec.context && exec.context->chroot)},
      {"EXECMOND_PROCESS_PATH", "process_path",
       exec.cached ? std::string("-") : escaped(exec.process_path)},
  };
  if (verdict && verdict->script) {
    facts.push_back({"EXECMOND_SCRIPT", "script", escaped(verdict->script_file.name)});
    facts.push_back({"EXECMOND_SCRIPT_GIVEN", "script_given", escaped(exec.script_given)});
    facts.push_back({"EXECMOND_INTERPRETER", "interpreter", escaped(verdict->executable.name)});
    facts.push_back(
        {"EXECMOND_SCRIPT_METHOD", "script_method", std::string(method_name(verdict->method))});
  }
  if (verdict && verdict->loader) {
    facts.push_back({"EXECMOND_LOADER", "loader", escaped(verdict->executable.name)});
    facts.push_back({"EXECMOND_PROGRAM", "program", escaped(verdict->program_given)});
    facts.push_back({"EXECMOND_LOADER_NOTE", "loader_note", verdict->loader_note});
  }
  if (!exec.cwd.empty()) facts.push_back({"EXECMOND_CWD", "cwd", escaped(exec.cwd)});
  // The content (issue 14): "pending" until the digest comes (a line of its own then).
  facts.push_back({"EXECMOND_SHA256", "sha256",
                   exec.sha256.empty() ? std::string("pending") : std::string(exec.sha256)});
  facts.push_back({"EXECMOND_INODE", "inode", std::to_string(exec.binary.ino)});
  facts.push_back({"EXECMOND_DEVICE", "device",
                   std::to_string(kernel_major(exec.binary.dev)) + ":" +
                       std::to_string(kernel_minor(exec.binary.dev))});
  facts.push_back({"EXECMOND_PATH_FLAGS", "flags", qualifiers(exec.binary_flags)});
  facts.push_back({"EXECMOND_CGROUP_ID", "cgroup_id", std::to_string(hdr.cgroup_id)});
  facts.push_back({"EXECMOND_CACHED", "cached", exec.cached ? "yes" : "no"});
  if (exec.execs > 1) facts.push_back({"EXECMOND_EXECS", "execs", std::to_string(exec.execs)});
  return facts;
}

// One record: to the journal with a field per fact (EXECMOND_EVENT=event), or to stderr
// as one logfmt line with the message `msg`.
void emit(UnexpectedExecLog::Output output, const std::string& journal_message,
          std::string_view event, std::string_view msg, const std::vector<Fact>& facts) {
  if (output == UnexpectedExecLog::Output::kJournal) {
    std::vector<std::string> fields = {"MESSAGE=" + journal_message, "PRIORITY=4",
                                       "EXECMOND_EVENT=" + std::string(event)};
    for (const Fact& fact : facts) fields.push_back(std::string(fact.journal) + "=" + fact.value);
    std::vector<iovec> vectors;
    for (std::string& field : fields) vectors.push_back({field.data(), field.size()});
    LibSystemd::get().journal_sendv(vectors.data(), static_cast<int>(vectors.size()));
    return;
  }
  std::vector<LogField> fields;
  fields.reserve(facts.size());
  for (const Fact& fact : facts) fields.push_back({fact.key, fact.value});
  log_event(spdlog::level::warn, msg, fields);
}

}  // namespace

// Without libsystemd the lines go to stderr, which journald then records without fields.
UnexpectedExecLog::UnexpectedExecLog()
    : output_(std::getenv("JOURNAL_STREAM") != nullptr && LibSystemd::get().loaded()
                  ? Output::kJournal
                  : Output::kStderr) {}

UnexpectedExecLine UnexpectedExecLog::line_of(const UnexpectedExec& exec) {
  return {facts_of(exec)};
}

void UnexpectedExecLog::write(const UnexpectedExecLine& line) const {
  if (output_ == Output::kNone) return;
  const std::vector<Fact>& facts = line.facts;
  const std::string message = "unexpected exec of " + facts[0].value + " (" + facts[1].value +
                              ") as " + facts[3].value + " (pid " + facts[4].value + ", uid " +
                              facts[7].value + ", parent " + facts[6].value + " " + facts[5].value +
                              ")";
  emit(output_, message, "unexpected_exec", "unexpected exec", facts);
}

void UnexpectedExecLog::write_content(std::string_view path, UnexpectedReason reason,
                                      std::string_view sha256,
                                      const execmond_binary_id& binary) const {
  if (output_ == Output::kNone) return;
  const std::vector<Fact> facts = {
      {"EXECMOND_PATH", "path", escaped(path)},
      {"EXECMOND_REASON", "reason", std::string(reason_label(reason))},
      {"EXECMOND_SHA256", "sha256", std::string(sha256)},
      {"EXECMOND_INODE", "inode", std::to_string(binary.ino)},
      {"EXECMOND_DEVICE", "device",
       std::to_string(kernel_major(binary.dev)) + ":" + std::to_string(kernel_minor(binary.dev))},
  };
  emit(output_, "content of unexpected " + facts[0].value + ": sha256 " + facts[2].value,
       "unexpected_file_content", "unexpected file content", facts);
}

void UnexpectedExecLog::write_summary(const LogBudget::Summary& summary) const {
  if (output_ == Output::kNone) return;
  std::string by_uid;
  for (const auto& [uid, lines] : summary.by_uid)
    by_uid += (by_uid.empty() ? "" : ",") + std::to_string(uid) + ":" + std::to_string(lines);
  const std::string suppressed = std::to_string(summary.suppressed);
  log_event(spdlog::level::warn, "unexpected-exec log lines held back by the rate limits",
            {{"lines", suppressed},
             {"by_uid", by_uid},
             {"see", "execmond_unexpected_execs_total and execmond trace --unexpected"}});
}

}  // namespace execmond

#include "binaries/unexpected_exec_log.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-journal.h>

#include <cstdlib>
#include <string>

#include "events/printable_bytes.h"
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
  if (flags & (EXECMOND_BINARY_PATH_TRUNCATED | EXECMOND_BINARY_SCRIPT_TRUNCATED)) add("truncated");
  if (flags & EXECMOND_BINARY_UNREACHABLE) add("outside-root");
  return text.empty() ? "none" : text;
}

}  // namespace

UnexpectedExecLog::UnexpectedExecLog() : to_journal_(std::getenv("JOURNAL_STREAM") != nullptr) {}

void UnexpectedExecLog::write(const execmond_binary_event& e, const ResolvedBinary& binary) const {
  const std::string path = escaped(binary.path());
  const std::string comm = escaped(CommName(e.hdr.comm).view());
  const std::string parent_comm = escaped(CommName(e.hdr.parent_comm).view());
  const std::string interpreter = binary.is_script() ? escaped(binary.executable()) : "";
  const std::string flags = qualifiers(binary.flags());
  // The kernel's dev_t packs 12 bits of major above 20 of minor, not glibc's layout.
  const unsigned kernel_major = e.binary.dev >> 20, kernel_minor = e.binary.dev & 0xfffff;
  if (to_journal_) {
    const std::string message = "unexpected exec of " + path + " as " + comm + " (pid " +
                                std::to_string(e.hdr.pid) + ", uid " + std::to_string(e.hdr.uid) +
                                ", parent " + parent_comm + " " + std::to_string(e.hdr.ppid) + ")";
    sd_journal_send("MESSAGE=%s", message.c_str(), "PRIORITY=4", "EXECMOND_EVENT=unexpected_exec",
                    "EXECMOND_PATH=%s", path.c_str(), "EXECMOND_INTERPRETER=%s",
                    interpreter.c_str(), "EXECMOND_COMM=%s", comm.c_str(), "EXECMOND_PID=%u",
                    e.hdr.pid, "EXECMOND_PPID=%u", e.hdr.ppid, "EXECMOND_PARENT_COMM=%s",
                    parent_comm.c_str(), "EXECMOND_UID=%u", e.hdr.uid, "EXECMOND_GID=%u", e.hdr.gid,
                    "EXECMOND_INODE=%llu", static_cast<unsigned long long>(e.binary.ino),
                    "EXECMOND_DEVICE=%u:%u", kernel_major, kernel_minor, "EXECMOND_PATH_FLAGS=%s",
                    flags.c_str(), "EXECMOND_CGROUP_ID=%llu",
                    static_cast<unsigned long long>(e.hdr.cgroup_id), nullptr);
    return;
  }
  const std::string pid = std::to_string(e.hdr.pid), ppid = std::to_string(e.hdr.ppid),
                    uid = std::to_string(e.hdr.uid), gid = std::to_string(e.hdr.gid),
                    inode = std::to_string(e.binary.ino),
                    device = std::to_string(kernel_major) + ":" + std::to_string(kernel_minor),
                    cgroup_id = std::to_string(e.hdr.cgroup_id);
  // logfmt: each value quoted, so that a file named "x comm=sshd" forges nothing.
  log_event(spdlog::level::warn, "unexpected exec",
            {{"path", path},
             {"interpreter", interpreter},
             {"comm", comm},
             {"pid", pid},
             {"ppid", ppid},
             {"parent_comm", parent_comm},
             {"uid", uid},
             {"gid", gid},
             {"inode", inode},
             {"device", device},
             {"flags", flags},
             {"cgroup_id", cgroup_id}});
}

}  // namespace execmond

// A live process's own view of the file system, reached through /proc/PID: its root, its
// working directory (and that directory's name from its root, checked), its mount
// table. What the walker needs to find the file a path named for that process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "binaries/mount_table.h"
#include "service/file_descriptor.h"

namespace execmond {

class ProcessView {
 public:
  // /proc/PID of the process that exec'd at `exec_boottime_ns` (CLOCK_BOOTTIME): nullopt
  // when it is gone, is another process now (its pid reused: started after that exec),
  // or cannot be read (another user's process without CAP_SYS_PTRACE).
  static std::optional<ProcessView> open(int pid, std::uint64_t exec_boottime_ns);
  // Whether /proc shows the records' pids (this process is in the initial pid
  // namespace); never otherwise.
  static bool available();

  int root() const { return root_.get(); }
  int cwd() const { return cwd_.get(); }
  // The working directory's name from the process's root; nullopt when it is not below
  // it (a chroot without chdir) or its name no longer leads to it (renamed, deleted).
  const std::optional<std::string>& cwd_path() const { return cwd_path_; }
  bool chrooted() const { return chrooted_; }
  // The root's name from its mount namespace's root ("/" unless chrooted).
  const std::string& root_name() const { return root_name_; }
  std::uint32_t mount_namespace() const { return mntns_; }
  // The file behind the process's descriptor `n` (what execveat(n, "path") and
  // fexecve() name as /dev/fd/N), and its name from the process's root when it has one
  // below it (checked as the cwd's is).
  struct Descriptor {
    FileDescriptor file;  // O_PATH
    std::optional<std::string> name;
  };
  std::optional<Descriptor> descriptor(int n) const;
  // /proc/PID/mountinfo now (paths relative to the process's root).
  MountTable mounts() const;
  // argv, NUL-separated, as /proc/PID/cmdline gives it (at most `max_bytes`).
  std::string command_line(std::size_t max_bytes, bool& truncated) const;

 private:
  ProcessView() = default;

  // The name of `file` (reached through /proc/PID/<link>) from the process's root.
  std::optional<std::string> name_below_root(const std::string& link, int file) const;

  int pid_ = 0;
  std::string root_name_;
  FileDescriptor root_;
  FileDescriptor cwd_;
  std::optional<std::string> cwd_path_;
  bool chrooted_ = false;
  std::uint32_t mntns_ = 0;
};

// CLOCK_BOOTTIME of the process's start, from /proc/PID/stat; nullopt when gone.
std::optional<std::uint64_t> process_start_boottime_ns(int pid);

}  // namespace execmond

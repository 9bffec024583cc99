// A mount table kept current: /proc/PID/mountinfo, opened once and read again only when
// the kernel says the table changed (poll(2) reports POLLPRI on it after any mount or
// unmount in that mount namespace).
#pragma once

#include <string>

#include "binaries/mount_table.h"
#include "service/file_descriptor.h"

namespace execmond {

// Reads a whole mountinfo file from its start; false when it cannot, or when it holds
// more than `max_bytes` (a table that large is cut, and the caller says so).
bool read_mountinfo(int fd, std::string& text, std::size_t max_bytes);

class LiveMountTable {
 public:
  // 16 MiB holds about 100,000 mounts, fs.mount-max's default.
  static constexpr std::size_t kMaxBytes = std::size_t{16} << 20;

  // Opens `path` (e.g. /proc/1/mountinfo, the host's table) and reads it; throws
  // std::system_error when it cannot be opened.
  explicit LiveMountTable(const std::string& path);

  // The table, read again first if the kernel reported a change since the last read.
  // One thread.
  const MountTable& current();
  // How many times the table was read (the first read included).
  std::uint64_t reads() const { return reads_; }

 private:
  void read();

  std::string path_;
  FileDescriptor fd_;
  MountTable table_;
  std::string text_;  // reused between reads
  std::uint64_t reads_ = 0;
};

}  // namespace execmond

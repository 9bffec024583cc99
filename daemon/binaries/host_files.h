// SPDX-License-Identifier: Apache-2.0
// Opens the file an exec ran as the host sees it, and proves it is that version.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "binaries/file_version.h"
#include "service/file_descriptor.h"

struct statx;

namespace execmond {

// Filesystems whose stat device is not the superblock's s_dev the kernel reports: btrfs
// (a device per subvolume) and overlayfs (the layer's, on some configurations). Their
// files are matched by inode and ctime alone.
inline constexpr std::uint32_t kBtrfsMagic = 0x9123683e;
inline constexpr std::uint32_t kOverlayfsMagic = 0x794c7630;

// Pure: does what statx says about an open file name `expected`?
bool same_version(const struct statx& seen, std::uint32_t fs_magic, const FileVersion& expected);

class HostFiles {
 public:
  enum class Failure {
    none,
    not_found,      // no such path (renamed, removed) or the process is gone
    no_access,      // EACCES/EPERM: the capabilities of item 6 are missing
    other_version,  // something else is there now: replaced or changed since the exec
    not_regular,    // not a regular file
    error,          // anything else; `error` holds the errno
  };
  struct Opened {
    FileDescriptor fd;
    Failure failure = Failure::error;
    int error = 0;
    std::uint32_t fs_magic = 0;
    std::uint64_t size = 0;
    bool ok() const { return failure == Failure::none; }
  };

  // `host_root`: the host's root directory (O_PATH; /proc/1/root, see
  // DESIGN-identity.md, or where that is hidden the daemon's own); `proc`: the procfs
  // whose /proc/PID/exe names processes' files.
  explicit HostFiles(FileDescriptor host_root, std::string proc = "/proc");

  // `host_path` resolved inside the host's root (symlinks too, never above it).
  Opened open_host_path(std::string_view host_path, const FileVersion& expected) const;
  // What /proc/PID/exe holds, while the process lives: memfds, deleted files, files in
  // mount namespaces the host cannot name.
  Opened open_process_exe(pid_t pid, const FileVersion& expected) const;
  // Checks an open file again (after reading it): still `expected`?
  static Failure recheck(int fd, const FileVersion& expected);
  // Does the host's root hold `expected` at `path`? (A file a sandboxed service ran, in a
  // mount namespace of its own, is often the host's own file at the same path.)
  static bool names(int host_root, std::string_view path, const FileVersion& expected);

  static const char* describe(Failure failure);

 private:
  Opened verify(int fd, const FileVersion& expected) const;

  FileDescriptor host_root_;
  std::string proc_;
};

}  // namespace execmond

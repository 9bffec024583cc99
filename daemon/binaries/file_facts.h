// What the kernel says about an open file, by statx(2): the facts a verdict's identity
// is checked against.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "service/file_descriptor.h"

namespace execmond {

struct FileFacts {
  std::uint32_t dev = 0;  // kernel encoding (mount_table.h kernel_dev()), as statx reports it
  std::uint64_t ino = 0;
  std::uint64_t ctime_ns = 0;
  std::uint64_t mount_id = 0;  // the mount the file was reached through (mountinfo's first field)
  std::uint32_t mode = 0;
};

// statx() of an open file (an O_PATH one will do); nullopt if the kernel refuses.
std::optional<FileFacts> file_facts(int fd);

// Opens `path` (O_PATH, the last component not followed) with `root` as its root, no "."
// or ".." in it, and no symbolic link followed anywhere (openat2's RESOLVE_IN_ROOT |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS): the file that exact name leads to, or an invalid
// descriptor. Where openat2 is refused (before 5.6, or a container's seccomp filter that predates
// it: ENOSYS or EPERM) the same is done one component at a time, by
// open_exact_path_by_components(): openat O_PATH | O_NOFOLLOW per component (a link
// opened as itself, so nothing below it), mounts crossed as the kernel crosses them.
FileDescriptor open_exact_path(int root, std::string_view path);
FileDescriptor open_exact_path_by_components(int root, std::string_view path);

// readlinkat() of an open symbolic link (O_PATH | O_NOFOLLOW), or of `name` under `dir`.
std::optional<std::string> read_link(int dir, const char* name);

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
#include "binaries/host_root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <variant>

#include "binaries/openat2.h"
#include "binaries/path_walker.h"

namespace execmond {

FileDescriptor open_root(const std::string& root) {
  return FileDescriptor(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
}

int open_in_root(int root_fd, std::string_view path, int flags) {
  const std::string relative(path);
  open_how how{};
  how.flags = static_cast<__u64>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const int fd =
      static_cast<int>(::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof(how)));
  if (fd >= 0 || errno != ENOSYS) return fd;
  // No openat2: systemd's RestrictSUIDSGID= (in execmond's unit) makes it ENOSYS, since
  // seccomp cannot see the mode inside its struct. The same resolution from userspace:
  // the walker follows symlinks inside `root_fd` and stops `..` there, then the file it
  // found is opened by its descriptor.
  WalkResult walked = walk_path(root_fd, root_fd, "/", path.empty() ? "/" : path);
  if (const int* error = std::get_if<int>(&walked)) {
    errno = *error;
    return -1;
  }
  const WalkedPath& found = std::get<WalkedPath>(walked);
  if ((flags & O_DIRECTORY) && !S_ISDIR(found.facts.mode)) {
    errno = ENOTDIR;
    return -1;
  }
  const std::string by_descriptor = "/proc/self/fd/" + std::to_string(found.file.get());
  return ::open(by_descriptor.c_str(), (flags & ~O_NOFOLLOW) | O_CLOEXEC);
}

bool read_file_in_root(int root_fd, std::string_view path, std::size_t max_bytes,
                       std::string& contents) {
  const FileDescriptor fd(open_in_root(root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK));
  if (!fd) return false;
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return false;
  if (!S_ISREG(info.st_mode)) {
    errno = EINVAL;
    return false;
  }
  contents.clear();
  // The size may change while it is read (dpkg rewrites the file): read to the end,
  // never past the bound.
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::read(fd.get(), buffer, sizeof(buffer));
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (got == 0) return true;
    if (contents.size() + static_cast<std::size_t>(got) > max_bytes) {
      errno = EFBIG;
      return false;
    }
    contents.append(buffer, static_cast<std::size_t>(got));
  }
}

}  // namespace execmond

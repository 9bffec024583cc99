#include "binaries/host_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace execmond {

FileDescriptor open_root(const std::string& root) {
  return FileDescriptor(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
}

int open_in_root(int root_fd, std::string_view path, int flags) {
  const std::string relative(path);
  open_how how{};
  how.flags = static_cast<__u64>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof(how)));
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

// SPDX-License-Identifier: Apache-2.0
#include "binaries/file_facts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "binaries/mount_table.h"
#include "binaries/openat2.h"

namespace execmond {

std::optional<FileFacts> file_facts(int fd) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
              STATX_TYPE | STATX_MODE | STATX_INO | STATX_CTIME | STATX_MNT_ID, &stx) != 0)
    return std::nullopt;
  FileFacts facts;
  facts.dev = kernel_dev(stx.stx_dev_major, stx.stx_dev_minor);
  facts.ino = stx.stx_ino;
  facts.ctime_ns =
      static_cast<std::uint64_t>(stx.stx_ctime.tv_sec) * 1'000'000'000u + stx.stx_ctime.tv_nsec;
  facts.mount_id = (stx.stx_mask & STATX_MNT_ID) ? stx.stx_mnt_id : 0;
  facts.mode = stx.stx_mode;
  return facts;
}

FileDescriptor open_exact_path_by_components(int root, std::string_view path) {
  FileDescriptor current(::openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  for (std::size_t at = 0; current && at < path.size();) {
    const std::size_t end = std::min(path.find('/', at), path.size());
    const std::string name(path.substr(at, end - at));
    at = end + 1;
    if (name.empty()) continue;
    if (name == "." || name == "..") return FileDescriptor();
    // A link is opened as itself: the next component under it fails (ENOTDIR), and as
    // the last one it is what openat2 returns too.
    current =
        FileDescriptor(::openat(current.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  }
  return current;
}

namespace {

// "." and ".." are not part of an exact name.
bool has_dot_component(std::string_view path) {
  for (std::size_t at = 0; at <= path.size();) {
    const std::size_t end = std::min(path.find('/', at), path.size());
    const std::string_view name = path.substr(at, end - at);
    if (name == "." || name == "..") return true;
    at = end + 1;
  }
  return false;
}

}  // namespace

FileDescriptor open_exact_path(int root, std::string_view path) {
  if (path.empty() || path.size() >= PATH_MAX || has_dot_component(path)) return FileDescriptor();
  static bool have_openat2 = true;
  if (!have_openat2) return open_exact_path_by_components(root, path);
  const std::string name(path);
  open_how how{};
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  // EAGAIN: a rename raced the lookup and the kernel asks to retry; a few times only.
  long fd = -1;
  for (int attempt = 0; attempt < 4; ++attempt) {
    fd = ::syscall(SYS_openat2, root, name.c_str(), &how, sizeof(how));
    if (fd >= 0 || errno != EAGAIN) break;
  }
  if (fd < 0 && (errno == ENOSYS || errno == EPERM)) {
    have_openat2 = false;  // one thread (the reader) calls this
    return open_exact_path_by_components(root, path);
  }
  return FileDescriptor(static_cast<int>(fd));
}

std::optional<std::string> read_link(int dir, const char* name) {
  char target[PATH_MAX];
  const ssize_t size = ::readlinkat(dir, name, target, sizeof(target));
  if (size < 0 || static_cast<std::size_t>(size) >= sizeof(target)) return std::nullopt;
  return std::string(target, static_cast<std::size_t>(size));
}

}  // namespace execmond

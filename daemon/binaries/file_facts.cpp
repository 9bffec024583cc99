#include "binaries/file_facts.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <vector>

#include "binaries/mount_table.h"

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

FileDescriptor open_exact_path(int root, std::string_view path) {
  if (path.empty() || path.size() >= PATH_MAX) return FileDescriptor();
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
  if (fd >= 0 || errno != ENOSYS) return FileDescriptor(static_cast<int>(fd));
  // No openat2 (systemd's RestrictSUIDSGID=, in execmond's unit, makes it ENOSYS): the
  // same exact lookup one component at a time: no symbolic link but the last one (which
  // O_PATH | O_NOFOLLOW opens as itself), `..` never above `root`.
  std::vector<FileDescriptor> walked;
  walked.emplace_back(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  std::string_view rest = path;
  for (;;) {
    if (!walked.back()) return FileDescriptor();
    while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    if (rest.empty()) return std::move(walked.back());
    const std::size_t slash = rest.find('/');
    const std::string component(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (component == ".") continue;
    if (component == "..") {
      if (walked.size() > 1) walked.pop_back();
      continue;
    }
    FileDescriptor next(
        ::openat(walked.back().get(), component.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat info {};
    if (next && ::fstat(next.get(), &info) != 0) return FileDescriptor();
    if (next && S_ISLNK(info.st_mode) && rest.find_first_not_of('/') != std::string_view::npos) {
      errno = ELOOP;
      return FileDescriptor();
    }
    walked.push_back(std::move(next));
  }
}

std::optional<std::string> read_link(int dir, const char* name) {
  char target[PATH_MAX];
  const ssize_t size = ::readlinkat(dir, name, target, sizeof(target));
  if (size < 0 || static_cast<std::size_t>(size) >= sizeof(target)) return std::nullopt;
  return std::string(target, static_cast<std::size_t>(size));
}

}  // namespace execmond

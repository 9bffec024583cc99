// SPDX-License-Identifier: Apache-2.0
#include "binaries/host_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "binaries/host_root.h"

namespace execmond {
namespace {

constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

HostFiles::Failure failure_of(int error) {
  switch (error) {
    case ENOENT:
    case ENOTDIR:
    case ESRCH:
    case ELOOP:
      return HostFiles::Failure::not_found;
    case EACCES:
    case EPERM:
      return HostFiles::Failure::no_access;
    default:
      return HostFiles::Failure::error;
  }
}

bool statx_of(int fd, struct statx& seen) {
  return ::statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT,
                 STATX_TYPE | STATX_INO | STATX_CTIME | STATX_SIZE, &seen) == 0;
}

}  // namespace

bool same_version(const struct statx& seen, std::uint32_t fs_magic, const FileVersion& expected) {
  const std::uint64_t ctime_ns =
      static_cast<std::uint64_t>(seen.stx_ctime.tv_sec) * 1'000'000'000 + seen.stx_ctime.tv_nsec;
  if (seen.stx_ino != expected.ino || ctime_ns != expected.ctime_ns) return false;
  if (fs_magic == kBtrfsMagic || fs_magic == kOverlayfsMagic) return true;
  return kernel_device_number(seen.stx_dev_major, seen.stx_dev_minor) == expected.dev;
}

HostFiles::HostFiles(FileDescriptor host_root, std::string proc)
    : host_root_(std::move(host_root)), proc_(std::move(proc)) {}

HostFiles::Opened HostFiles::verify(int fd, const FileVersion& expected) const {
  Opened opened;
  opened.fd = FileDescriptor(fd);
  struct statx seen {};
  struct statfs filesystem {};
  if (!statx_of(fd, seen) || ::fstatfs(fd, &filesystem) != 0) {
    opened.error = errno;
    opened.failure = failure_of(errno);
    return opened;
  }
  opened.fs_magic = static_cast<std::uint32_t>(filesystem.f_type);
  opened.size = seen.stx_size;
  if (!S_ISREG(seen.stx_mode)) {
    opened.failure = Failure::not_regular;
  } else if (!same_version(seen, opened.fs_magic, expected)) {
    opened.failure = Failure::other_version;
  } else {
    opened.failure = Failure::none;
  }
  return opened;
}

HostFiles::Opened HostFiles::open_host_path(std::string_view host_path,
                                            const FileVersion& expected) const {
  Opened failed;
  const int fd = open_in_root(host_root_.get(), host_path, kOpenFlags);
  if (fd < 0) {
    failed.error = errno;
    failed.failure = failure_of(errno);
    return failed;
  }
  return verify(fd, expected);
}

HostFiles::Opened HostFiles::open_process_exe(pid_t pid, const FileVersion& expected) const {
  const std::string exe = proc_ + "/" + std::to_string(pid) + "/exe";
  const int fd = ::open(exe.c_str(), kOpenFlags);
  if (fd < 0) {
    Opened failed;
    failed.error = errno;
    failed.failure = failure_of(errno);
    return failed;
  }
  return verify(fd, expected);
}

HostFiles::Failure HostFiles::recheck(int fd, const FileVersion& expected) {
  struct statx seen {};
  struct statfs filesystem {};
  if (!statx_of(fd, seen) || ::fstatfs(fd, &filesystem) != 0) return failure_of(errno);
  return same_version(seen, static_cast<std::uint32_t>(filesystem.f_type), expected)
             ? Failure::none
             : Failure::other_version;
}

bool HostFiles::names(int host_root, std::string_view path, const FileVersion& expected) {
  if (path.empty() || path.front() != '/') return false;
  const FileDescriptor fd(open_in_root(host_root, path, O_PATH));
  return fd && recheck(fd.get(), expected) == Failure::none;
}

const char* HostFiles::describe(Failure failure) {
  switch (failure) {
    case Failure::none:
      return "opened";
    case Failure::not_found:
      return "gone";
    case Failure::no_access:
      return "permission denied";
    case Failure::other_version:
      return "changed since the exec";
    case Failure::not_regular:
      return "not a regular file";
    case Failure::error:
      break;
  }
  return "error";
}

}  // namespace execmond

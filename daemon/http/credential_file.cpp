// SPDX-License-Identifier: Apache-2.0
#include "http/credential_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/config_error.h"
#include "service/file_descriptor.h"
#include "service/file_kind.h"

namespace execmond::http {
namespace {

constexpr off_t kMaxCredentialFileSize = off_t{1} << 20;

long long nanoseconds(const timespec& time) {
  return static_cast<long long>(time.tv_sec) * 1000000000LL + time.tv_nsec;
}

}  // namespace

bool FileStamp::operator==(const FileStamp& other) const {
  return device == other.device && inode == other.inode && size == other.size &&
         modified_ns == other.modified_ns && changed_ns == other.changed_ns;
}

std::optional<FileStamp> stamp_of(const std::string& path) {
  struct stat status {};
  if (stat(path.c_str(), &status) != 0) return std::nullopt;
  return FileStamp{status.st_dev, status.st_ino, status.st_size, nanoseconds(status.st_mtim),
                   nanoseconds(status.st_ctim)};
}

std::string read_credential_file(const std::string& path, const std::string& at) {
  const auto cannot_read = [&](const std::string& why) {
    return ConfigError(at + ": cannot read " + path + ": " + why);
  };
  // O_NONBLOCK: opening a FIFO nobody writes would otherwise wait forever.
  const FileDescriptor fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) throw cannot_read(std::strerror(errno));
  struct stat status {};
  if (fstat(fd.get(), &status) != 0) throw cannot_read(std::strerror(errno));
  if (!S_ISREG(status.st_mode)) {
    throw cannot_read(std::string("it is ") + file_kind(status.st_mode) + ", not a PEM file");
  }
  const auto too_large = [&] {
    return cannot_read("larger than " + std::to_string(kMaxCredentialFileSize >> 10) +
                       " KiB, which no certificate, key or CA bundle is");
  };
  if (status.st_size > kMaxCredentialFileSize) throw too_large();
  std::string text;
  char buffer[8192];
  for (;;) {
    const ssize_t count = read(fd.get(), buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) throw cannot_read(std::strerror(errno));
    if (count == 0) break;
    text.append(buffer, static_cast<std::size_t>(count));
    if (text.size() > static_cast<std::size_t>(kMaxCredentialFileSize)) throw too_large();
  }
  return text;
}

}  // namespace execmond::http

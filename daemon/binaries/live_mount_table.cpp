#include "binaries/live_mount_table.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace execmond {

bool read_mountinfo(int fd, std::string& text, std::size_t max_bytes) {
  text.clear();
  if (::lseek(fd, 0, SEEK_SET) != 0) return false;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof(buffer));
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (got == 0) return true;
    if (text.size() + static_cast<std::size_t>(got) > max_bytes) return false;
    text.append(buffer, static_cast<std::size_t>(got));
  }
}

LiveMountTable::LiveMountTable(const std::string& path)
    : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
  if (!fd_) throw std::system_error(errno, std::generic_category(), "cannot open " + path);
  read();
}

const MountTable& LiveMountTable::current() {
  pollfd changed{fd_.get(), POLLPRI, 0};
  if (::poll(&changed, 1, 0) > 0 && (changed.revents & (POLLPRI | POLLERR))) read();
  return table_;
}

void LiveMountTable::read() {
  ++reads_;
  // A table that cannot be read whole is parsed as far as it was: names it lacks are
  // "not visible", never guessed.
  read_mountinfo(fd_.get(), text_, kMaxBytes);
  table_ = MountTable::parse(text_);
}

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
#include "trace/line_writer.h"

#include <limits.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace execmond {

LineWriter::LineWriter(int fd) : fd_(fd), cancelled_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!cancelled_) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

bool LineWriter::write(std::string_view text) {
  while (!text.empty()) {
    pollfd fds[2] = {{fd_, POLLOUT, 0}, {cancelled_.get(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents) return false;
    // Once a pipe reports room, a write of at most PIPE_BUF bytes does not block.
    const ssize_t n = ::write(fd_, text.data(), std::min<std::size_t>(text.size(), PIPE_BUF));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void LineWriter::cancel() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(cancelled_.get(), &one, sizeof(one));
}

}  // namespace execmond

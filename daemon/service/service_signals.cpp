// SPDX-License-Identifier: Apache-2.0
#include "service/service_signals.h"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace execmond {
namespace {

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

ServiceSignals::ServiceSignals() {
  const sigset_t set = handled_signals();
  if (pthread_sigmask(SIG_BLOCK, &set, &previous_mask_) != 0)
    throw std::runtime_error("cannot block service signals");
  signal_fd_ = FileDescriptor(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd_) throw std::runtime_error(std::string("signalfd: ") + std::strerror(errno));
}

ServiceSignals::~ServiceSignals() { pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr); }

int ServiceSignals::take() {
  for (;;) {
    signalfd_siginfo info{};
    const ssize_t n = read(signal_fd_.get(), &info, sizeof(info));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return 0;
    if (n != sizeof(info)) throw std::runtime_error("signalfd read failed");
    return static_cast<int>(info.ssi_signo);
  }
}

}  // namespace execmond

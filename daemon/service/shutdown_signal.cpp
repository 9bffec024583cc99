#include "service/shutdown_signal.h"

#include <spdlog/spdlog.h>
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

ShutdownSignal::ShutdownSignal() {
  const sigset_t set = handled_signals();
  if (pthread_sigmask(SIG_BLOCK, &set, &previous_mask_) != 0)
    throw std::runtime_error("cannot block shutdown signals");
  signal_fd_ = FileDescriptor(signalfd(-1, &set, SFD_CLOEXEC));
  if (!signal_fd_) throw std::runtime_error(std::string("signalfd: ") + std::strerror(errno));
}

ShutdownSignal::~ShutdownSignal() { pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr); }

int ShutdownSignal::wait() {
  for (;;) {
    signalfd_siginfo info{};
    const ssize_t n = read(signal_fd_.get(), &info, sizeof(info));
    if (n < 0 && errno == EINTR) continue;
    if (n != sizeof(info)) throw std::runtime_error("signalfd read failed");
    if (info.ssi_signo != SIGHUP) return static_cast<int>(info.ssi_signo);
    spdlog::warn(
        "SIGHUP received: configuration is only read at start, restart execmond "
        "to apply changes");
  }
}

}  // namespace execmond

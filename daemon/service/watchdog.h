// SPDX-License-Identifier: Apache-2.0
// systemd's watchdog (WatchdogSec=): a process that stops proving it is alive is killed
// and restarted.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace execmond {

class SystemdWatchdog {
 public:
  // Enabled when the service manager asked for it (WATCHDOG_USEC for this process).
  SystemdWatchdog();

  bool enabled() const { return interval_.count() > 0; }
  // Sends WATCHDOG=1 at most once per quarter of the watchdog interval, so that a
  // caller on a busy loop pays a clock read, not a syscall. Call it from the loop whose
  // liveness matters (the ring buffer reader): if that loop is stuck, systemd restarts
  // the daemon.
  void pet();

 private:
  std::chrono::microseconds interval_{0};
  std::atomic<std::int64_t> last_pet_ns_{0};
};

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
#include "service/watchdog.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "service/libsystemd.h"

namespace execmond {

SystemdWatchdog::SystemdWatchdog() {
  std::uint64_t usec = 0;
  const int enabled = LibSystemd::get().watchdog_enabled(&usec);
  if (enabled < 0)
    spdlog::warn("cannot read systemd's watchdog settings: {}", std::strerror(-enabled));
  if (enabled > 0) interval_ = std::chrono::microseconds(usec);
}

void SystemdWatchdog::pet() {
  if (!enabled()) return;
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  const std::int64_t quarter =
      std::chrono::duration_cast<std::chrono::nanoseconds>(interval_).count() / 4;
  if (now - last_pet_ns_.load(std::memory_order_relaxed) < quarter) return;
  last_pet_ns_.store(now, std::memory_order_relaxed);
  LibSystemd::get().notify("WATCHDOG=1");
}

}  // namespace execmond

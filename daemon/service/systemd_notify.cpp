// SPDX-License-Identifier: Apache-2.0
#include "service/systemd_notify.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "service/libsystemd.h"

namespace execmond {
namespace {

void notify(const std::string& state) {
  // Without libsystemd (-ENOSYS) there is no service manager to tell.
  const int sent = LibSystemd::get().notify(state.c_str());
  if (sent < 0 && sent != -ENOSYS)
    spdlog::warn("cannot notify systemd ({}): {}", state, std::strerror(-sent));
}

}  // namespace

void notify_ready(const std::string& status) { notify("READY=1\nSTATUS=" + status); }

void notify_stopping() { notify("STOPPING=1"); }

void notify_reloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const long long usec = static_cast<long long>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1'000;
  notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

}  // namespace execmond

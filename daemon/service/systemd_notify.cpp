#include "service/systemd_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstring>

namespace execmond {
namespace {

void notify(const std::string& state) {
  const int sent = sd_notify(0, state.c_str());
  if (sent < 0) spdlog::warn("cannot notify systemd ({}): {}", state, std::strerror(-sent));
}

}  // namespace

void notify_ready(const std::string& status) { notify("READY=1\nSTATUS=" + status); }

void notify_stopping() { notify("STOPPING=1"); }

}  // namespace execmond

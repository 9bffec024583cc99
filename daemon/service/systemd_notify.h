// The service manager's readiness protocol (sd_notify(3)); a no-op outside systemd.
#pragma once

#include <string>

namespace execmond {

void notify_ready(const std::string& status);
void notify_stopping();

}  // namespace execmond

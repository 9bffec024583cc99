// SPDX-License-Identifier: Apache-2.0
// The service manager's readiness protocol (sd_notify(3)); a no-op outside systemd.
#pragma once

#include <string>

namespace execmond {

void notify_ready(const std::string& status);
void notify_stopping();
// Type=notify services announce a reload (systemd 253+ waits for READY=1 after it;
// older ones ignore it).
void notify_reloading();

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// The metrics daemon: from configuration to a running /metrics endpoint and back.
#pragma once

#include "cli.h"

namespace execmond {

// Runs until SIGTERM or SIGINT; returns an exit_code.
int run_daemon(const DaemonOptions& options);

// Validates the configuration and reports on stdout/stderr; returns an exit_code.
int check_config(const DaemonOptions& options);

}  // namespace execmond

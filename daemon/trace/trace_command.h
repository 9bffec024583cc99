// SPDX-License-Identifier: Apache-2.0
// `execmond trace`: a live view of execs, exits and failed execs.
#pragma once

#include "trace/trace_options.h"

namespace execmond {

// Prints events until SIGINT or SIGTERM; returns an exit_code.
int run_trace(const TraceOptions& options);

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// execmond's log: stderr, in the form journald understands when systemd runs it.
#pragma once

#include <spdlog/common.h>

namespace execmond {

// Under systemd (JOURNAL_STREAM set) each line carries its syslog priority as a "<N>"
// prefix and no timestamp (journald adds both); elsewhere, a timestamp and the level.
void setup_logging(spdlog::level::level_enum level);

}  // namespace execmond

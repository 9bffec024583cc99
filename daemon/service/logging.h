// execmond's log: stderr, one logfmt line per message (service/logfmt.h), in the form
// journald understands when systemd runs it.
#pragma once

#include <spdlog/common.h>
#include <spdlog/logger.h>

#include <initializer_list>
#include <memory>
#include <string_view>
#include <vector>

#include "service/logfmt.h"

namespace execmond {

// Under systemd (JOURNAL_STREAM set) each line carries its syslog priority as a "<N>"
// prefix and no timestamp (journald adds both), then the message escaped like a logfmt
// value but unquoted; elsewhere
//   ts=2026-11-29T17:43:09.719+00:00 level=info msg="ready: serving …"
// Either way a message is one line, whatever bytes it holds.
void setup_logging(spdlog::level::level_enum level);

// The same formatting into `sink` (tests).
std::shared_ptr<spdlog::logger> make_logger(spdlog::sink_ptr sink, bool journal);

// One structured line through the default logger: msg="message" and then each field,
// ` key="value"`, every value quoted and escaped.
void log_event(spdlog::level::level_enum level, std::string_view message,
               const std::vector<LogField>& fields);
inline void log_event(spdlog::level::level_enum level, std::string_view message,
                      std::initializer_list<LogField> fields) {
  log_event(level, message, std::vector<LogField>(fields));
}

}  // namespace execmond

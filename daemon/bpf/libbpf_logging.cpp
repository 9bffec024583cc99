// SPDX-License-Identifier: Apache-2.0
#include "bpf/libbpf_logging.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <string_view>

namespace execmond {
namespace {

std::atomic<int> warnings_as_debug{0};

int print_libbpf_message(enum libbpf_print_level level, const char* format, va_list args) {
  const bool demoted = level == LIBBPF_WARN && warnings_as_debug.load() > 0;
  const auto spd_level = demoted                ? spdlog::level::debug
                         : level == LIBBPF_WARN ? spdlog::level::warn
                         : level == LIBBPF_INFO ? spdlog::level::debug
                                                : spdlog::level::trace;
  if (!spdlog::should_log(spd_level)) return 0;
  char line[1024];
  va_list again;
  va_copy(again, args);
  int n = std::vsnprintf(line, sizeof(line), format, args);
  std::string long_message;  // a verifier log runs to many kilobytes: show all of it
  if (n >= static_cast<int>(sizeof(line))) {
    long_message.resize(static_cast<std::size_t>(n) + 1);
    n = std::vsnprintf(long_message.data(), long_message.size(), format, again);
  }
  va_end(again);
  if (n < 0) return n;
  std::string_view message =
      long_message.empty() ? std::string_view(line, static_cast<std::size_t>(n))
                           : std::string_view(long_message.data(), static_cast<std::size_t>(n));
  while (!message.empty() && message.back() == '\n') message.remove_suffix(1);
  spdlog::log(spd_level, "{}", message);
  return n;
}

}  // namespace

void route_libbpf_logs_to_spdlog() { libbpf_set_print(print_libbpf_message); }

LibbpfWarningsAsDebug::LibbpfWarningsAsDebug() { ++warnings_as_debug; }

LibbpfWarningsAsDebug::~LibbpfWarningsAsDebug() { --warnings_as_debug; }

}  // namespace execmond

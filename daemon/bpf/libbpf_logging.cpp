#include "bpf/libbpf_logging.h"

#include <bpf/libbpf.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
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
  int n = std::vsnprintf(line, sizeof(line), format, args);
  if (n < 0) return n;
  std::string_view message(line,
                           std::min<std::size_t>(static_cast<std::size_t>(n), sizeof(line) - 1));
  while (!message.empty() && message.back() == '\n') message.remove_suffix(1);
  spdlog::log(spd_level, "{}", message);
  return n;
}

}  // namespace

void route_libbpf_logs_to_spdlog() { libbpf_set_print(print_libbpf_message); }

LibbpfWarningsAsDebug::LibbpfWarningsAsDebug() { ++warnings_as_debug; }

LibbpfWarningsAsDebug::~LibbpfWarningsAsDebug() { --warnings_as_debug; }

}  // namespace execmond

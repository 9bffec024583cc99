// SPDX-License-Identifier: Apache-2.0
#include "trace/wall_clock.h"

#include <time.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>

namespace execmond {
namespace {

constexpr std::int64_t kNsPerSecond = 1'000'000'000;

std::int64_t now_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * kNsPerSecond + ts.tv_nsec;
}

template <typename... Args>
void append_format(std::string& out, const char* format, Args... args) {
  char buffer[64];
  const int n = std::snprintf(buffer, sizeof(buffer), format, args...);
  if (n > 0)
    out.append(buffer, static_cast<std::size_t>(n) < sizeof(buffer) ? n : sizeof(buffer) - 1);
}

}  // namespace

// A kernel timestamp is nanoseconds since boot, far below 2^63; a record that says
// otherwise (fuzz_records: UBSan's signed overflow) is shown at the last representable
// instant, 2262-04-11T23:47:16Z, rather than overflow.
std::int64_t WallClock::wall_ns(std::uint64_t boot_ns) const {
  std::int64_t wall = 0;
  if (boot_ns > static_cast<std::uint64_t>(INT64_MAX) ||
      __builtin_add_overflow(static_cast<std::int64_t>(boot_ns), realtime_minus_boottime_ns_,
                             &wall)) {
    return INT64_MAX;
  }
  return wall;
}

WallClock::WallClock()
    : realtime_minus_boottime_ns_(now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME)) {}

void WallClock::append_rfc3339(std::string& out, std::uint64_t boot_ns) const {
  const std::int64_t wall = wall_ns(boot_ns);
  const time_t seconds = static_cast<time_t>(wall / kNsPerSecond);
  tm utc{};
  gmtime_r(&seconds, &utc);
  append_format(out, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRId64 "Z", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                wall % kNsPerSecond);
}

void WallClock::append_time_of_day(std::string& out, std::uint64_t boot_ns) const {
  const time_t seconds = static_cast<time_t>(wall_ns(boot_ns) / kNsPerSecond);
  tm local{};
  localtime_r(&seconds, &local);
  append_format(out, "%02d:%02d:%02d", local.tm_hour, local.tm_min, local.tm_sec);
}

void append_short_duration(std::string& out, std::uint64_t ns) {
  const std::uint64_t ms = ns / 1'000'000;
  if (ms < 1000) return append_format(out, "%" PRIu64 "ms", ms);
  if (ms < 60'000) return append_format(out, "%.2fs", static_cast<double>(ns) / 1e9);
  const std::uint64_t s = ns / kNsPerSecond;
  if (s < 3600) return append_format(out, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
  append_format(out, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, (s / 60) % 60);
}

}  // namespace execmond

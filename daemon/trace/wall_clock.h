// SPDX-License-Identifier: Apache-2.0
// Event times: the kernel stamps CLOCK_BOOTTIME; people read wall-clock time.
#pragma once

#include <cstdint>
#include <string>

namespace execmond {

class WallClock {
 public:
  // Captures the offset between the two clocks once: wall-clock steps later (NTP) are
  // not followed, which keeps the times of one trace consistent with each other.
  WallClock();

  // "2026-11-22T17:40:01.123456789Z"
  void append_rfc3339(std::string& out, std::uint64_t boot_ns) const;
  // "17:40:01", local time.
  void append_time_of_day(std::string& out, std::uint64_t boot_ns) const;

 private:
  std::int64_t wall_ns(std::uint64_t boot_ns) const;

  std::int64_t realtime_minus_boottime_ns_;
};

// "12ms", "1.50s", "3m12s", "2h05m": a lifetime for the table.
void append_short_duration(std::string& out, std::uint64_t ns);

}  // namespace execmond

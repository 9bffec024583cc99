// SPDX-License-Identifier: Apache-2.0
// The values execmond's configuration writes as text: durations, byte sizes, the listen
// address and process-name patterns. Pure parsers, no YAML: the config parser places their
// errors in the file.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace execmond {

// A value that does not parse. what() says what was expected, e.g. "expected a duration such
// as 250ms or 2s"; the caller adds where it was and what was found.
class InvalidValue : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// "250ms", "1.5s", "10m", "0": a decimal number and a unit (ns, us, ms, s, m, h). Only a bare 0
// may leave the unit out. Negative values, fractions of a nanosecond and values beyond the
// ~292 years a signed 64-bit count of nanoseconds holds are rejected.
std::chrono::nanoseconds parse_duration(std::string_view text);

// "4MiB", "64KiB", "65536": a whole number of bytes, optionally with a unit. KiB, MiB, GiB, TiB
// are powers of 1024; kB (or KB), MB, GB, TB are powers of 1000, as IEC 80000-13 defines them.
// B alone means bytes. Values that do not fit in 64 bits are rejected.
std::uint64_t parse_byte_size(std::string_view text);

// Where /metrics listens.
struct ListenAddress {
  // An IPv4 literal, an IPv6 literal without its brackets, or empty for every IPv4 interface.
  std::string host;
  // 0 lets the kernel pick a free port.
  std::uint16_t port = 0;
  bool ipv6 = false;

  bool operator==(const ListenAddress& other) const {
    return host == other.host && port == other.port && ipv6 == other.ipv6;
  }
};

// "127.0.0.1:9717", "[::1]:9717", ":9717" or "9717" (both: every IPv4 interface). Host names
// are rejected: a literal address says exactly which interface exposes the metrics.
ListenAddress parse_listen_address(std::string_view text);

// The kernel keeps at most this many bytes of a process name (TASK_COMM_LEN - 1).
inline constexpr std::size_t kMaxCommLength = 15;

// Checks an fnmatch(3) pattern meant for process names: not empty, every [ closed, no
// trailing backslash, and able to match some name of at most kMaxCommLength bytes (a longer
// literal would silently never match, since the kernel truncates names).
void check_comm_pattern(std::string_view pattern);
// The same for unit labels, which have no length limit.
void check_unit_pattern(std::string_view pattern);

}  // namespace execmond

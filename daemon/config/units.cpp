// SPDX-License-Identifier: Apache-2.0
#include "config/units.h"

#include <arpa/inet.h>

#include <cstdint>
#include <limits>

namespace execmond {
namespace {

constexpr char kDurationForm[] = "expected a duration such as 250ms or 2s";
constexpr char kSizeForm[] = "expected a size such as 4MiB, 64KiB or 65536 (bytes)";
constexpr char kListenForm[] = "expected host:port such as 127.0.0.1:9717, [::1]:9717 or :9717";

struct Unit {
  std::string_view suffix;
  std::uint64_t scale;
};

// µs too, as Go's time.ParseDuration accepts it.
constexpr Unit kDurationUnits[] = {
    {"ns", 1},
    {"us", 1'000},
    {"\u00b5s", 1'000},
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
};

constexpr Unit kSizeUnits[] = {
    {"", 1},
    {"B", 1},
    {"KiB", std::uint64_t{1} << 10},
    {"MiB", std::uint64_t{1} << 20},
    {"GiB", std::uint64_t{1} << 30},
    {"TiB", std::uint64_t{1} << 40},
    {"kB", 1'000},
    {"KB", 1'000},
    {"MB", 1'000'000},
    {"GB", 1'000'000'000},
    {"TB", 1'000'000'000'000},
};

const Unit* find_unit(std::string_view suffix, const Unit* begin, const Unit* end) {
  for (const Unit* unit = begin; unit != end; ++unit) {
    if (unit->suffix == suffix) return unit;
  }
  return nullptr;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Removes and returns the leading run of decimal digits.
std::string_view take_digits(std::string_view& text) {
  std::size_t n = 0;
  while (n < text.size() && is_digit(text[n])) ++n;
  std::string_view digits = text.substr(0, n);
  text.remove_prefix(n);
  return digits;
}

// False when the digits do not fit in 64 bits.
bool digits_to_uint64(std::string_view digits, std::uint64_t& value) {
  value = 0;
  for (char c : digits) {
    if (__builtin_mul_overflow(value, 10, &value) ||
        __builtin_add_overflow(value, static_cast<std::uint64_t>(c - '0'), &value)) {
      return false;
    }
  }
  return true;
}

bool all_zeros(std::string_view digits) {
  return digits.find_first_not_of('0') == std::string_view::npos;
}

std::uint16_t parse_port(std::string_view text) {
  std::uint64_t port = 0;
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != text.npos ||
      !digits_to_uint64(text, port) || port > 65535) {
    throw InvalidValue("expected a port from 0 to 65535 after the colon");
  }
  return static_cast<std::uint16_t>(port);
}

bool is_ip_literal(int family, const std::string& host) {
  unsigned char address[sizeof(in6_addr)];
  return inet_pton(family, host.c_str(), address) == 1;
}

// Index of the ] that closes the bracket expression opening at `open`, as fnmatch(3) reads
// it: a leading ! or ^ negates, a leading ] is a member, \ escapes, [:class:] nests.
std::size_t bracket_end(std::string_view pattern, std::size_t open) {
  std::size_t i = open + 1;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) ++i;
  if (i < pattern.size() && pattern[i] == ']') ++i;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == ']') return i;
    if (c == '\\' && i + 1 < pattern.size()) {
      i += 2;
    } else if (c == '[' && i + 1 < pattern.size() &&
               (pattern[i + 1] == ':' || pattern[i + 1] == '=' || pattern[i + 1] == '.')) {
      const char terminator[] = {pattern[i + 1], ']', '\0'};
      const std::size_t close = pattern.find(terminator, i + 2);
      i = close == pattern.npos ? i + 1 : close + 2;
    } else {
      ++i;
    }
  }
  return pattern.npos;
}

}  // namespace

std::chrono::nanoseconds parse_duration(std::string_view text) {
  if (!text.empty() && text.front() == '-') {
    throw InvalidValue("expected a duration that is not negative, such as 250ms");
  }
  std::string_view rest = text;
  const std::string_view whole = take_digits(rest);
  if (whole.empty()) throw InvalidValue(kDurationForm);
  std::string_view fraction;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    fraction = take_digits(rest);
    if (fraction.empty()) throw InvalidValue(kDurationForm);
  }
  if (rest.empty()) {
    if (all_zeros(whole) && all_zeros(fraction)) return std::chrono::nanoseconds{0};
    throw InvalidValue("expected a unit after the number (ns, us, ms, s, m or h), such as 250ms");
  }
  const Unit* unit = find_unit(rest, std::begin(kDurationUnits), std::end(kDurationUnits));
  if (unit == nullptr) {
    throw InvalidValue("expected a duration unit (ns, us, ms, s, m or h) after the number");
  }

  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  // With trailing zeros gone, no unit up to an hour turns 14 or more decimals into whole
  // nanoseconds; 18 keeps every intermediate below in 128 bits.
  constexpr char kWholeNanoseconds[] = "expected a whole number of nanoseconds";
  if (fraction.size() > 18) throw InvalidValue(kWholeNanoseconds);
  constexpr char kTooLong[] = "expected a duration shorter than 292 years";
  std::uint64_t whole_value = 0;
  std::uint64_t fraction_value = 0;
  if (!digits_to_uint64(whole, whole_value)) throw InvalidValue(kTooLong);
  digits_to_uint64(fraction, fraction_value);  // at most 18 digits: always fits
  unsigned __int128 fraction_denominator = 1;
  for (std::size_t i = 0; i < fraction.size(); ++i) fraction_denominator *= 10;

  const unsigned __int128 fraction_scaled =
      static_cast<unsigned __int128>(fraction_value) * unit->scale;
  if (fraction_scaled % fraction_denominator != 0) throw InvalidValue(kWholeNanoseconds);
  const unsigned __int128 nanoseconds = static_cast<unsigned __int128>(whole_value) * unit->scale +
                                        fraction_scaled / fraction_denominator;
  if (nanoseconds > static_cast<unsigned __int128>(std::numeric_limits<std::int64_t>::max())) {
    throw InvalidValue(kTooLong);
  }
  return std::chrono::nanoseconds{static_cast<std::int64_t>(nanoseconds)};
}

std::uint64_t parse_byte_size(std::string_view text) {
  std::string_view rest = text;
  const std::string_view digits = take_digits(rest);
  if (digits.empty()) throw InvalidValue(kSizeForm);
  const Unit* unit = find_unit(rest, std::begin(kSizeUnits), std::end(kSizeUnits));
  if (unit == nullptr) {
    const bool unit_misplaced = !rest.empty() && (rest.front() == '.' || rest.front() == ' ');
    if (unit_misplaced) throw InvalidValue(kSizeForm);  // "1.5MiB", "4 MiB"
    throw InvalidValue(
        "expected a size unit: B, KiB, MiB, GiB, TiB (powers of 1024) or kB, MB, GB, TB (powers "
        "of 1000)");
  }
  std::uint64_t count = 0;
  std::uint64_t bytes = 0;
  if (!digits_to_uint64(digits, count) || __builtin_mul_overflow(count, unit->scale, &bytes)) {
    throw InvalidValue("expected a size below 16EiB");
  }
  return bytes;
}

ListenAddress parse_listen_address(std::string_view text) {
  ListenAddress address;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == text.npos) {
      throw InvalidValue("expected a ] closing the IPv6 address, such as [::1]:9717");
    }
    address.host = std::string(text.substr(1, close - 1));
    address.ipv6 = true;
    if (!is_ip_literal(AF_INET6, address.host)) {
      throw InvalidValue("expected an IPv6 address between the brackets, such as [::1]:9717");
    }
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      throw InvalidValue("expected :port after the IPv6 address, such as [::1]:9717");
    }
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == text.npos) {
      if (!text.empty() && text.find_first_not_of("0123456789") == text.npos) {
        address.port = parse_port(text);
        return address;
      }
      if (is_ip_literal(AF_INET, std::string(text))) {
        throw InvalidValue("expected :port after the address, such as 127.0.0.1:9717");
      }
      throw InvalidValue(kListenForm);
    }
    address.host = std::string(text.substr(0, colon));
    if (address.host.find(':') != std::string::npos) {
      throw InvalidValue("expected an IPv6 address in brackets, such as [::1]:9717");
    }
    if (!address.host.empty() && !is_ip_literal(AF_INET, address.host)) {
      throw InvalidValue(
          "expected an IPv4 address or a bracketed IPv6 address before the port, such as "
          "127.0.0.1:9717 or [::1]:9717 (host names are not resolved)");
    }
    port = text.substr(colon + 1);
  }
  address.port = parse_port(port);
  return address;
}

namespace {

// Checks the syntax; returns how many bytes the shortest text it matches has.
std::size_t check_pattern_syntax(std::string_view pattern) {
  if (pattern.empty()) {
    throw InvalidValue(R"(expected a non-empty pattern such as "nginx" or "python*")");
  }
  std::size_t shortest_match = 0;  // bytes in the shortest name the pattern can match
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    switch (pattern[i]) {
      case '*':
        break;
      case '\\':
        if (i + 1 == pattern.size()) {
          throw InvalidValue(R"(expected a character after the last \ (write \\ for a backslash))");
        }
        ++i;
        ++shortest_match;
        break;
      case '[': {
        const std::size_t close = bracket_end(pattern, i);
        if (close == pattern.npos) {
          throw InvalidValue("expected a ] closing the [ at byte " + std::to_string(i + 1) +
                             R"( (write \[ to match a [))");
        }
        i = close;
        ++shortest_match;
        break;
      }
      case '?':
        ++shortest_match;
        break;
      default:
        ++shortest_match;
    }
  }
  return shortest_match;
}

}  // namespace

void check_unit_pattern(std::string_view pattern) { check_pattern_syntax(pattern); }

void check_comm_pattern(std::string_view pattern) {
  if (check_pattern_syntax(pattern) <= kMaxCommLength) return;
  const bool literal = pattern.find_first_of("*?[\\") == std::string_view::npos;
  std::string expected =
      "expected a pattern that can match a process name, which the kernel cuts to " +
      std::to_string(kMaxCommLength) + " bytes";
  // A cut inside a UTF-8 sequence would suggest bytes nobody can type.
  const bool cut_on_character =
      (static_cast<unsigned char>(pattern[kMaxCommLength]) & 0xC0) != 0x80;
  if (literal && cut_on_character) {
    expected += " (it sees \"" + std::string(pattern.substr(0, kMaxCommLength)) + "\")";
  }
  throw InvalidValue(expected);
}

}  // namespace execmond

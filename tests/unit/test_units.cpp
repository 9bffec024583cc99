// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "config/units.h"

namespace execmond {
namespace {

using std::chrono::nanoseconds;

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kHour = 3600 * kSecond;

// What a units.h parser said when it refused `text`, or "(accepted)".
template <typename Parser>
std::string complaint(Parser parser, const std::string& text) {
  try {
    parser(text);
  } catch (const InvalidValue& error) {
    return error.what();
  }
  return "(accepted)";
}

TEST_CASE("durations in every unit and form", "[units]") {
  const auto [text, expected] = GENERATE(table<std::string, std::int64_t>({
      {"0", 0},
      {"00", 0},
      {"0.0", 0},
      {"0s", 0},
      {"0ms", 0},
      {"1ns", 1},
      {"500us", 500'000},
      {"500\u00b5s", 500'000},
      {"250ms", 250'000'000},
      {"0.001ms", 1'000},
      {"2s", 2 * kSecond},
      {"1.5s", 1'500'000'000},
      {"0.25s", 250'000'000},
      {"1.000000000s", kSecond},
      {"10m", 600 * kSecond},
      {"1.5m", 90 * kSecond},
      {"1h", kHour},
      {"0.0000000000025h", 9},
      {"2562047h", 2562047 * kHour},
      {"9223372036854775807ns", INT64_MAX},
      {"0009223372036854775807ns", INT64_MAX},
  }));
  CAPTURE(text);
  CHECK(parse_duration(text) == nanoseconds{expected});
}

TEST_CASE("durations that are rejected say what was expected", "[units]") {
  const auto [text, expected] = GENERATE(table<std::string, std::string>({
      {"", "expected a duration such as 250ms or 2s"},
      {"fast", "expected a duration such as 250ms or 2s"},
      {"s", "expected a duration such as 250ms or 2s"},
      {"+1s", "expected a duration such as 250ms or 2s"},
      {".5s", "expected a duration such as 250ms or 2s"},
      {"1.s", "expected a duration such as 250ms or 2s"},
      {" 1s", "expected a duration such as 250ms or 2s"},
      {"-1s", "expected a duration that is not negative, such as 250ms"},
      {"-0", "expected a duration that is not negative, such as 250ms"},
      {"250", "expected a unit after the number (ns, us, ms, s, m or h), such as 250ms"},
      {"1.5", "expected a unit after the number (ns, us, ms, s, m or h), such as 250ms"},
      {"2sec", "expected a duration unit (ns, us, ms, s, m or h) after the number"},
      {"2 s", "expected a duration unit (ns, us, ms, s, m or h) after the number"},
      {"2S", "expected a duration unit (ns, us, ms, s, m or h) after the number"},
      {"1e3s", "expected a duration unit (ns, us, ms, s, m or h) after the number"},
      {"1d", "expected a duration unit (ns, us, ms, s, m or h) after the number"},
      {"1.5ns", "expected a whole number of nanoseconds"},
      {"0.0000000001s", "expected a whole number of nanoseconds"},
      {"0.0000000000000000001h", "expected a whole number of nanoseconds"},
      {"9223372036854775808ns", "expected a duration shorter than 292 years"},
      {"2562048h", "expected a duration shorter than 292 years"},
      {"99999999999999999999999s", "expected a duration shorter than 292 years"},
  }));
  CAPTURE(text);
  CHECK(complaint(parse_duration, text) == expected);
}

TEST_CASE("byte sizes with binary, decimal and no units", "[units]") {
  const auto [text, expected] = GENERATE(table<std::string, std::uint64_t>({
      {"0", 0},
      {"65536", 65'536},
      {"65536B", 65'536},
      {"64KiB", 65'536},
      {"4MiB", 4'194'304},
      {"1GiB", 1'073'741'824},
      {"1TiB", std::uint64_t{1} << 40},
      {"1kB", 1'000},
      {"1KB", 1'000},
      {"4MB", 4'000'000},
      {"1GB", 1'000'000'000},
      {"2TB", 2'000'000'000'000},
      {"18446744073709551615", UINT64_MAX},
      {"16777215TiB", (std::uint64_t{16777215}) << 40},
  }));
  CAPTURE(text);
  CHECK(parse_byte_size(text) == expected);
}

TEST_CASE("byte sizes that are rejected say what was expected", "[units]") {
  constexpr char kForm[] = "expected a size such as 4MiB, 64KiB or 65536 (bytes)";
  constexpr char kUnit[] =
      "expected a size unit: B, KiB, MiB, GiB, TiB (powers of 1024) or kB, MB, GB, TB (powers of "
      "1000)";
  const auto [text, expected] = GENERATE_COPY(table<std::string, std::string>({
      {"", kForm},
      {"big", kForm},
      {"MiB", kForm},
      {"-1", kForm},
      {"4 MiB", kForm},
      {"1.5MiB", kForm},
      {"4mib", kUnit},
      {"4M", kUnit},
      {"4Mi", kUnit},
      {"4MiBs", kUnit},
      {"18446744073709551616", "expected a size below 16EiB"},
      {"16777216TiB", "expected a size below 16EiB"},
  }));
  CAPTURE(text);
  CHECK(complaint(parse_byte_size, text) == expected);
}

TEST_CASE("listen addresses", "[units]") {
  struct Accepted {
    std::string text;
    ListenAddress address;
  };
  const auto accepted = GENERATE(values<Accepted>({
      {"0.0.0.0:9717", {"0.0.0.0", 9717, false}},
      {"127.0.0.1:0", {"127.0.0.1", 0, false}},
      {"10.1.2.3:65535", {"10.1.2.3", 65535, false}},
      {"[::1]:9717", {"::1", 9717, true}},
      {"[::]:80", {"::", 80, true}},
      {"[2001:db8::7]:9717", {"2001:db8::7", 9717, true}},
      {":9717", {"", 9717, false}},
      {"9717", {"", 9717, false}},
      {":0", {"", 0, false}},
      {"127.0.0.1:09717", {"127.0.0.1", 9717, false}},
  }));
  CAPTURE(accepted.text);
  const ListenAddress parsed = parse_listen_address(accepted.text);
  CHECK(parsed.host == accepted.address.host);
  CHECK(parsed.port == accepted.address.port);
  CHECK(parsed.ipv6 == accepted.address.ipv6);
}

TEST_CASE("listen addresses that are rejected say what was expected", "[units]") {
  constexpr char kPort[] = "expected a port from 0 to 65535 after the colon";
  constexpr char kIPv4[] =
      "expected an IPv4 address or a bracketed IPv6 address before the port, such as "
      "127.0.0.1:9717 or [::1]:9717 (host names are not resolved)";
  constexpr char kInsideBrackets[] =
      "expected an IPv6 address between the brackets, such as [::1]:9717";
  const auto [text, expected] = GENERATE_COPY(table<std::string, std::string>({
      {"", "expected host:port such as 127.0.0.1:9717, [::1]:9717 or :9717"},
      {"anywhere", "expected host:port such as 127.0.0.1:9717, [::1]:9717 or :9717"},
      {"127.0.0.1", "expected :port after the address, such as 127.0.0.1:9717"},
      {"localhost:9717", kIPv4},
      {"256.0.0.1:9717", kIPv4},
      {"127.1:9717", kIPv4},
      {" 127.0.0.1:9717", kIPv4},
      {"::1:9717", "expected an IPv6 address in brackets, such as [::1]:9717"},
      {"::", "expected an IPv6 address in brackets, such as [::1]:9717"},
      {"[::1]", "expected :port after the IPv6 address, such as [::1]:9717"},
      {"[::1]9717", "expected :port after the IPv6 address, such as [::1]:9717"},
      {"[::1:9717", "expected a ] closing the IPv6 address, such as [::1]:9717"},
      {"[127.0.0.1]:9717", kInsideBrackets},
      {"[]:9717", kInsideBrackets},
      {"[fe80::1%eth0]:9717", kInsideBrackets},
      {"127.0.0.1:", kPort},
      {":", kPort},
      {"127.0.0.1:65536", kPort},
      {"127.0.0.1:-1", kPort},
      {"127.0.0.1:+80", kPort},
      {"127.0.0.1: 80", kPort},
      {"127.0.0.1:http", kPort},
      {"127.0.0.1:000080", kPort},
      {"[::1]:99999", kPort},
      {"99999", kPort},
  }));
  CAPTURE(text);
  CHECK(complaint(parse_listen_address, text) == expected);
}

TEST_CASE("process-name patterns that can match", "[units]") {
  const std::string pattern =
      GENERATE(as<std::string>{}, "nginx", "python*", "*", "?", "[abc]", "[!a]x", "[^a]x", "[]]",
               "[!]]", "[[:alpha:]]*", "[a\\]]", "\\[x", "a\\*", "systemd-journal",
               "systemd-journa*", "[a-z]??????????????", "***************x", "123");
  CAPTURE(pattern);
  CHECK_NOTHROW(check_comm_pattern(pattern));
}

TEST_CASE("process-name patterns that are rejected say why", "[units]") {
  constexpr char kTooLong[] =
      "expected a pattern that can match a process name, which the kernel cuts to 15 bytes";
  const auto [pattern, expected] = GENERATE_COPY(table<std::string, std::string>({
      {"", R"(expected a non-empty pattern such as "nginx" or "python*")"},
      {"[abc", R"(expected a ] closing the [ at byte 1 (write \[ to match a [))"},
      {"ab[", R"(expected a ] closing the [ at byte 3 (write \[ to match a [))"},
      {"a[]", R"(expected a ] closing the [ at byte 2 (write \[ to match a [))"},
      {"[[:alpha:]", R"(expected a ] closing the [ at byte 1 (write \[ to match a [))"},
      {"abc\\", R"(expected a character after the last \ (write \\ for a backslash))"},
      {"systemd-journald", std::string(kTooLong) + R"( (it sees "systemd-journal"))"},
      {"very-long-process-name", std::string(kTooLong) + R"( (it sees "very-long-proce"))"},
      {"systemd-journald*", kTooLong},
      {"*systemd-journald", kTooLong},
      {"[a-z]???????????????", kTooLong},
      // A cut inside "ä" (two bytes) would suggest half a character.
      {"\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4", kTooLong},
  }));
  CAPTURE(pattern);
  CHECK(complaint(check_comm_pattern, pattern) == expected);
}

}  // namespace
}  // namespace execmond

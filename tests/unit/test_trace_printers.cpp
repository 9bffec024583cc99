// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <type_traits>

#include "trace/trace_printer.h"
#include "trace/wall_clock.h"

using namespace execmond;

namespace {

template <typename Record>
void fill(Record& r, std::uint32_t type, const char* comm) {
  r.hdr.type = type;
  r.hdr.timestamp_ns = 5'000'000'000;
  r.hdr.pid = 1235;
  r.hdr.ppid = 1234;
  r.hdr.uid = 1000;
  r.hdr.gid = 100;
  std::strncpy(r.hdr.comm, comm, sizeof(r.hdr.comm));
  std::strncpy(r.hdr.parent_comm, "bash", sizeof(r.hdr.parent_comm));
  r.hdr.cgroup_id = 4242;
}

template <typename Record>
std::string line_of(const TracePrinter& printer, const Record& record,
                    std::string_view unit = "cron.service") {
  std::string line;
  if constexpr (std::is_same_v<Record, execmond_exec_event>) {
    printer.format(line, record, unit, nullptr);
  } else {
    printer.format(line, record, unit);
  }
  return line;
}

}  // namespace

TEST_CASE("short durations for the table", "[trace]") {
  auto text = [](std::uint64_t ns) {
    std::string s;
    append_short_duration(s, ns);
    return s;
  };
  CHECK(text(12'345'678) == "12ms");
  CHECK(text(1'500'000'000) == "1.50s");
  CHECK(text(192'000'000'000) == "3m12s");
  CHECK(text(7'500'000'000'000) == "2h05m");
}

TEST_CASE("RFC 3339 times with nanoseconds", "[trace]") {
  const WallClock clock;
  std::string a, b;
  clock.append_rfc3339(a, 1'000'000'007);
  clock.append_rfc3339(b, 2'000'000'007);
  REQUIRE(a.size() == std::string("2026-11-22T17:40:01.000000007Z").size());
  CHECK(a[4] == '-');
  CHECK(a[10] == 'T');
  CHECK(a[19] == '.');
  CHECK(a.back() == 'Z');
  // Exactly one second apart: the same nanosecond fraction, a later second.
  CHECK(a.substr(19) == b.substr(19));
  CHECK(a < b);
}

// Found by fuzz_records: a timestamp past 2^63 ns overflowed a signed sum (UBSan).
TEST_CASE("a timestamp no kernel writes shows as the last representable instant", "[trace]") {
  const WallClock clock;
  for (const std::uint64_t boot_ns :
       {std::uint64_t{0x7fff'ffff'ffff'ffff} - 1, std::uint64_t{0x8000'0000'0000'0000},
        std::uint64_t{0xffff'ffff'ffff'ffff}}) {
    std::string rfc3339;
    std::string time_of_day;
    clock.append_rfc3339(rfc3339, boot_ns);
    clock.append_time_of_day(time_of_day, boot_ns);
    CHECK(rfc3339 == "2262-04-11T23:47:16.854775807Z");
    CHECK(time_of_day.size() == 8);
  }
}

TEST_CASE("table lines", "[trace]") {
  const WallClock clock;
  const auto table = make_table_printer(clock);
  CHECK(table->header().rfind("TIME     EVENT COMM", 0) == 0);

  execmond_exec_event exec{};
  fill(exec, EXECMOND_EVENT_EXEC, "ls");
  std::strcpy(exec.filename, "/usr/bin/ls");
  const std::string exec_line = line_of(*table, exec);
  CHECK(exec_line.substr(8) ==
        " EXEC  ls               1235    1234    cron.service             /usr/bin/ls\n");
  // A unit longer than its column pushes the last one right, by one space at least.
  CHECK(line_of(*table, exec, "a-rather-long-unit-name.service").substr(48) ==
        "a-rather-long-unit-name.service /usr/bin/ls\n");

  execmond_exit_event exit{};
  fill(exit, EXECMOND_EVENT_EXIT, "ls");
  exit.lifetime_ns = 12'000'000;
  CHECK(line_of(*table, exit).substr(8) ==
        " EXIT  ls               1235    1234    cron.service             [0] (12ms)\n");
  exit.exit_status = 11 | 0x80;
  CHECK(line_of(*table, exit).find("[SIGSEGV core] (12ms)") != std::string::npos);

  execmond_exec_failed_event failed{};
  fill(failed, EXECMOND_EVENT_EXEC_FAILED, "bash");
  failed.error = 2;
  std::strcpy(failed.filename, "/nope");
  failed.hdr.flags = EXECMOND_FILENAME_TRUNCATED;
  CHECK(line_of(*table, failed).substr(8) ==
        " FAIL  bash             1235    1234    cron.service             [ENOENT] /nope...\n");
}

TEST_CASE("JSON lines carry every field, escaped losslessly", "[trace]") {
  const WallClock clock;
  const auto json = make_json_printer(clock);
  CHECK(json->header().empty());

  execmond_exec_event exec{};
  fill(exec, EXECMOND_EVENT_EXEC, "a\"b\\c\xff");
  std::strcpy(exec.filename, "/bin/x");
  const char args[] = "x\0with space\0\0\n";
  std::memcpy(exec.args, args, sizeof(args) - 1);
  exec.args_size = sizeof(args) - 1;
  const std::string line = line_of(*json, exec);
  CHECK(line.rfind("{\"type\":\"exec\",\"pid\":1235,\"ppid\":1234,\"parent_comm\":\"bash\","
                   "\"uid\":1000,\"gid\":100,\"comm\":\"a\\\"b\\\\\\\\c\\\\xff\",\"unit\":"
                   "\"cron.service\",\"cgroup\":4242,\"time\":\"",
                   0) == 0);
  CHECK(line.find("\"argv\":[\"x\",\"with space\",\"\",\"\\\\x0a\"],\"argv_truncated\":false}\n") !=
        std::string::npos);

  execmond_exit_event exit{};
  fill(exit, EXECMOND_EVENT_EXIT, "ls");
  exit.exit_status = 9;
  exit.start_ns = 4'000'000'000;
  exit.lifetime_ns = 1'000'000'000;
  exit.hdr.flags = EXECMOND_START_IS_FORK;
  const std::string exit_line = line_of(*json, exit);
  CHECK(exit_line.find("\"lifetime_ns\":1000000000,\"start_is_fork\":true,\"exit_code\":null,"
                       "\"signal\":\"SIGKILL\",\"core_dumped\":false}") != std::string::npos);

  execmond_exec_failed_event failed{};
  fill(failed, EXECMOND_EVENT_EXEC_FAILED, "sh");
  failed.error = 13;
  CHECK(line_of(*json, failed).find("\"errno\":\"EACCES\",\"errno_number\":13}") !=
        std::string::npos);
}

TEST_CASE("argv beyond the shown bound is marked truncated", "[trace]") {
  const WallClock clock;
  const auto json = make_json_printer(clock);
  execmond_exec_event exec{};
  fill(exec, EXECMOND_EVENT_EXEC, "x");
  for (std::size_t i = 0; i < kMaxTracedArgs + 5; ++i) {  // "a\0a\0..."
    exec.args[exec.args_size++] = 'a';
    exec.args[exec.args_size++] = '\0';
  }
  const std::string line = line_of(*json, exec);
  CHECK(line.find("\"argv_truncated\":true") != std::string::npos);
  std::size_t shown = 0;
  for (auto at = line.find("\"a\""); at != std::string::npos; at = line.find("\"a\"", at + 1))
    ++shown;
  CHECK(shown == kMaxTracedArgs);
}

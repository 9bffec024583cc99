#include <catch2/catch.hpp>
#include <string>

#include "metric_families.h"
#include "metrics/self_metrics.h"

namespace execmond {
namespace {

// proc(5): pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
// cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime vsize rss
TEST_CASE("a stat line is parsed from the last parenthesis", "[self]") {
  const std::string stat =
      "4242 (a) (b c)) S 1 4242 4242 0 -1 4194560 300 0 0 0 250 50 0 0 20 0 3 0 12345 "
      "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  const auto parsed = parse_process_stat(stat, 100, 4096, 1'700'000'000);
  REQUIRE(parsed);
  CHECK(parsed->cpu_seconds == Approx(3.0));  // (250 + 50) / 100
  CHECK(parsed->start_time_seconds == Approx(1'700'000'000 + 123.45));
  CHECK(parsed->virtual_bytes == 104857600);
  CHECK(parsed->resident_bytes == 2560u * 4096u);
}

TEST_CASE("text that is not a stat line is refused", "[self]") {
  CHECK_FALSE(parse_process_stat("", 100, 4096, 0));
  CHECK_FALSE(parse_process_stat("4242 (x) S 1 2", 100, 4096, 0));
  CHECK_FALSE(parse_process_stat("no parenthesis at all", 100, 4096, 0));
}

TEST_CASE("this process's own metrics are plausible", "[self]") {
  const auto families = testing::collect_families(SelfMetrics());
  REQUIRE(families.size() == 6);
  for (const auto& family : families) {
    CAPTURE(family.name);
    REQUIRE(family.metric.size() == 1);
    const double value = family.type == prometheus::MetricType::Counter
                             ? family.metric[0].counter.value
                             : family.metric[0].gauge.value;
    CHECK(value >= 0);
    if (family.name == "process_resident_memory_bytes") CHECK(value > 1 << 20);
    if (family.name == "process_open_fds") CHECK(value >= 3);
  }
}

}  // namespace
}  // namespace execmond

#include <catch2/catch.hpp>

#include "reload_plan.h"

namespace execmond {
namespace {

std::vector<std::string_view> names(const ReloadPlan& plan) {
  std::vector<std::string_view> out;
  for (const SettingChange& change : plan.changes) out.push_back(change.name);
  return out;
}

TEST_CASE("an unchanged configuration changes nothing", "[reload]") {
  const Config running;
  const ReloadPlan plan = plan_reload(running, running);
  CHECK(plan.changes.empty());
  CHECK(plan.effective == running);
}

TEST_CASE("each setting that differs is one change", "[reload]") {
  Config next;
  SECTION("log_level") {
    next.log_level = spdlog::level::debug;
    CHECK(names(plan_reload(Config{}, next)) == std::vector<std::string_view>{"log_level"});
  }
  SECTION("poll_interval") {
    next.poll_interval = std::chrono::milliseconds(50);
    CHECK(names(plan_reload(Config{}, next)) == std::vector<std::string_view>{"poll_interval"});
  }
  SECTION("listen") {
    next.listen = "127.0.0.1:9717";
    CHECK(names(plan_reload(Config{}, next)) == std::vector<std::string_view>{"listen"});
  }
  SECTION("min_duration") {
    next.min_duration = std::chrono::milliseconds(5);
    CHECK(names(plan_reload(Config{}, next)) == std::vector<std::string_view>{"min_duration"});
  }
  SECTION("any filter") {
    const std::vector<std::string_view> filters{
        "include_comms/exclude_comms/include_units/exclude_units"};
    next.exclude_comms = {"sh"};
    CHECK(names(plan_reload(Config{}, next)) == filters);
    next.exclude_comms.clear();
    next.include_comms = {"nginx"};
    CHECK(names(plan_reload(Config{}, next)) == filters);
    next.include_comms.clear();
    next.exclude_units = {"cron.service"};
    CHECK(names(plan_reload(Config{}, next)) == filters);
  }
  SECTION("lifetime_histogram applies in place") {
    next.lifetime_histogram = false;
    const ReloadPlan plan = plan_reload(Config{}, next);
    CHECK(names(plan) == std::vector<std::string_view>{"lifetime_histogram"});
    CHECK(plan.changes[0].in_place);
  }
  SECTION("exec_failures needs a restart") {
    next.exec_failures = false;
    const ReloadPlan plan = plan_reload(Config{}, next);
    CHECK(names(plan) == std::vector<std::string_view>{"exec_failures"});
    CHECK_FALSE(plan.changes[0].in_place);
    CHECK(plan.effective.exec_failures);
  }
  SECTION("labels") {
    next.unit_label = true;
    const ReloadPlan plan = plan_reload(Config{}, next);
    CHECK(names(plan) == std::vector<std::string_view>{"labels"});
    CHECK_FALSE(plan.changes[0].in_place);
    CHECK_FALSE(plan.effective.unit_label);
  }
  SECTION("ring_buffer_size and max_comm_series") {
    next.ring_buffer_size = 1 << 20;
    next.max_comm_series = 7;
    CHECK(names(plan_reload(Config{}, next)) ==
          std::vector<std::string_view>{"max_comm_series", "ring_buffer_size"});
    CHECK(plan_reload(Config{}, next).changes[0].in_place);  // up to kMaxCommSeries
  }
}

TEST_CASE("what cannot change in place keeps its running value", "[reload]") {
  Config running;
  running.ring_buffer_size = 1 << 20;
  Config next;
  next.ring_buffer_size = 8 << 20;
  next.log_level = spdlog::level::warn;
  const ReloadPlan plan = plan_reload(running, next);
  REQUIRE(plan.changes.size() == 2);
  for (const SettingChange& change : plan.changes)
    CHECK(change.in_place == (change.setting == Setting::kLogLevel));
  CHECK(plan.effective.ring_buffer_size == running.ring_buffer_size);
  CHECK(plan.effective.log_level == spdlog::level::warn);
  // The next reload of the same file asks for the same restart, and nothing else.
  CHECK(names(plan_reload(plan.effective, next)) ==
        std::vector<std::string_view>{"ring_buffer_size"});
}

}  // namespace
}  // namespace execmond

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
    next.series.exclude_comms = {"sh"};
    CHECK(names(plan_reload(Config{}, next)) == filters);
    next.series.exclude_comms.clear();
    next.series.include_comms = {"nginx"};
    CHECK(names(plan_reload(Config{}, next)) == filters);
    next.series.include_comms.clear();
    next.series.exclude_units = {"cron.service"};
    CHECK(names(plan_reload(Config{}, next)) == filters);
  }
  SECTION("lifetime_histogram applies in place") {
    next.series.lifetime_histogram = false;
    const ReloadPlan plan = plan_reload(Config{}, next);
    CHECK(names(plan) == std::vector<std::string_view>{"lifetime_histogram"});
    CHECK(plan.changes[0].in_place);
  }
  SECTION("series_ttl applies in place, through the reader") {
    next.series.series_ttl = std::chrono::hours{1};
    const ReloadPlan plan = plan_reload(Config{}, next);
    CHECK(names(plan) == std::vector<std::string_view>{"series_ttl"});
    CHECK(plan.changes[0].in_place);
    CHECK(plan.actions == std::vector<ReloadAction>{ReloadAction::kApplySeriesSettings});
    CHECK(plan.effective.series.series_ttl == std::chrono::hours{1});
  }
  SECTION("exec_failures needs a restart") {
    next.exec_failures = false;
    const ReloadPlan plan = plan_reload(Config{}, next);
    CHECK(names(plan) == std::vector<std::string_view>{"exec_failures"});
    CHECK_FALSE(plan.changes[0].in_place);
    CHECK(plan.effective.exec_failures);
  }
  SECTION("labels") {
    next.series.unit_label = true;
    const ReloadPlan plan = plan_reload(Config{}, next);
    CHECK(names(plan) == std::vector<std::string_view>{"labels"});
    CHECK_FALSE(plan.changes[0].in_place);
    CHECK_FALSE(plan.effective.series.unit_label);
  }
  SECTION("ring_buffer_size and max_comm_series") {
    next.ring_buffer_size = 1 << 20;
    next.series.max_comm_series = 7;
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

TEST_CASE("a plan's actions apply exactly the in-place changes, each once, binding first",
          "[reload]") {
  const Config running;
  SECTION("nothing changed: nothing to run") {
    CHECK(plan_reload(running, running).actions.empty());
  }
  SECTION("filters, bound and histogram share one step") {
    Config next;
    next.series.exclude_comms = {"sh"};
    next.series.max_comm_series = 5;
    next.series.lifetime_histogram = false;
    CHECK(plan_reload(running, next).actions ==
          std::vector<ReloadAction>{ReloadAction::kApplySeriesSettings});
  }
  SECTION("restart-only settings and the web configuration run no step") {
    Config next;
    next.exec_failures = false;
    next.series.unit_label = true;
    next.ring_buffer_size = 1 << 20;
    next.web_config_file = "web.yml";
    const ReloadPlan plan = plan_reload(running, next);
    CHECK(plan.changes.size() == 4);
    CHECK(plan.actions.empty());
  }
  SECTION("every in-place setting at once: each step once, the listener first") {
    Config next;
    next.log_level = spdlog::level::debug;
    next.poll_interval = std::chrono::milliseconds(50);
    next.allowed_binaries = std::vector<std::string>{"/usr/bin/*"};
    next.min_duration = std::chrono::milliseconds(5);
    next.series.include_comms = {"nginx"};
    next.listen = "127.0.0.1:1";
    CHECK(plan_reload(running, next).actions ==
          std::vector<ReloadAction>{ReloadAction::kRebindListener, ReloadAction::kSetMinDuration,
                                    ReloadAction::kApplySeriesSettings,
                                    ReloadAction::kReplaceAllowList, ReloadAction::kSetPollInterval,
                                    ReloadAction::kSetLogLevel});
  }
}

}  // namespace
}  // namespace execmond

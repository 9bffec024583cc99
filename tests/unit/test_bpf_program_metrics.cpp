#include <prometheus/metric_family.h>

#include <catch2/catch.hpp>

#include "metric_families.h"
#include "metrics/bpf_program_metrics.h"
#include "metrics/dropped_events.h"

namespace execmond {

TEST_CASE("BPF program run time becomes two counter families labelled by program") {
  BpfProgramCollector collector([] {
    return std::vector<ProgramRunTime>{{"handle_exec", 2'500'000'000, 5}, {"handle_exit", 0, 0}};
  });
  const auto families = execmond::testing::collect_families(collector);
  REQUIRE(families.size() == 2);
  CHECK(families[0].name == "execmond_bpf_program_run_seconds_total");
  CHECK(families[1].name == "execmond_bpf_program_runs_total");
  REQUIRE(families[0].metric.size() == 2);
  CHECK(families[0].metric[0].label[0].name == "program");
  CHECK(families[0].metric[0].label[0].value == "handle_exec");
  CHECK(families[0].metric[0].counter.value == 2.5);
  CHECK(families[1].metric[0].counter.value == 5);
  CHECK(families[1].metric[1].label[0].value == "handle_exit");
}

TEST_CASE("lost events are read from the kernel at each scrape") {
  std::uint64_t lost = 3;
  DroppedEventsCollector collector([&lost] { return lost; });
  CHECK(execmond::testing::collect_families(collector)[0].metric[0].counter.value == 3);
  lost = 7;
  CHECK(execmond::testing::collect_families(collector)[0].metric[0].counter.value == 7);
}

}  // namespace execmond

#include <prometheus/metric_family.h>

#include <catch2/catch.hpp>

#include "metrics/bpf_program_metrics.h"
#include "metrics/dropped_events.h"

namespace execmond {

TEST_CASE("BPF program run time becomes two counter families labelled by program") {
  bool enabled = true;
  BpfProgramCollector collector([&enabled] { return enabled; },
                                [] {
                                  return std::vector<ProgramRunTime>{
                                      {"handle_exec", 2'500'000'000, 5}, {"handle_exit", 0, 0}};
                                });
  auto families = collector.Collect();
  REQUIRE(families.size() == 3);
  CHECK(families[0].name == "execmond_bpf_stats_enabled");
  CHECK(families[0].metric[0].gauge.value == 1);
  CHECK(families[1].name == "execmond_bpf_program_run_seconds_total");
  CHECK(families[2].name == "execmond_bpf_program_runs_total");
  REQUIRE(families[1].metric.size() == 2);
  CHECK(families[1].metric[0].label[0].name == "program");
  CHECK(families[1].metric[0].label[0].value == "handle_exec");
  CHECK(families[1].metric[0].counter.value == 2.5);
  CHECK(families[2].metric[0].counter.value == 5);
  CHECK(families[2].metric[1].label[0].value == "handle_exit");

  // Statistics off (the systemd unit has no CAP_SYS_ADMIN): say so, export no zeros.
  enabled = false;
  families = collector.Collect();
  REQUIRE(families.size() == 1);
  CHECK(families[0].name == "execmond_bpf_stats_enabled");
  CHECK(families[0].metric[0].gauge.value == 0);
}

TEST_CASE("lost events are read from the kernel at each scrape, by record kind") {
  LostRecords lost{3, 0, 0, 0};
  DroppedEventsCollector collector([&lost] { return lost; });
  CHECK(collector.Collect()[0].metric[0].counter.value == 3);
  lost = {7, 1, 2, 4};
  const auto families = collector.Collect();
  REQUIRE(families.size() == 1);
  CHECK(families[0].name == "execmond_events_lost_total");
  REQUIRE(families[0].metric.size() == 4);
  const char* records[] = {"exec", "exit", "exec_failed", "binary"};
  const double counts[] = {7, 1, 2, 4};
  for (int i = 0; i < 4; ++i) {
    REQUIRE(families[0].metric[i].label.size() == 1);
    CHECK(families[0].metric[i].label[0].name == "record");
    CHECK(families[0].metric[i].label[0].value == records[i]);
    CHECK(families[0].metric[i].counter.value == counts[i]);
  }
}

}  // namespace execmond

// The bounded name -> stats map: one slot per name, a fixed number of them, filters
// decided once.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "metrics/comm_table.h"

namespace {

using execmond::CommFilter;
using execmond::CommName;
using execmond::CommStats;
using execmond::CommTable;

CommStats* stats(CommTable& table, const std::string& name) {
  return table.stats_for_event(CommName(name));
}

}  // namespace

TEST_CASE("each name has one slot, labelled with its encoding", "[comm_table]") {
  CommTable table(10, CommFilter());
  CommStats* bash = stats(table, "bash");
  REQUIRE(bash != nullptr);
  CHECK(stats(table, "bash") == bash);
  CommStats* ls = stats(table, "ls");
  CHECK(ls != bash);
  CHECK(stats(table, "bash") == bash);
  REQUIRE(table.series_count() == 2);
  CHECK(table.series_label(0) == "bash");
  CHECK(table.series_label(1) == "ls");
  CHECK(&table.series(0) == bash);
  CHECK(&table.series(1) == ls);
  CHECK(table.series_limit() == 10);
  CHECK(table.overflow_events() == 0);
}

TEST_CASE("names that share their first eight bytes, or are empty, stay apart", "[comm_table]") {
  CommTable table(10, CommFilter());
  CommStats* a = stats(table, "abcdefgh1");
  CommStats* b = stats(table, "abcdefgh2");
  CommStats* prefix = stats(table, "abcdefgh");
  CommStats* empty = stats(table, "");
  CommStats* escaped = stats(table, "a\\x41");
  CommStats* plain = stats(table, "aA");
  CHECK(std::set<CommStats*>{a, b, prefix, empty, escaped, plain}.size() == 6);
  CHECK(stats(table, "") == empty);
  CHECK(table.series_label(3) == "");
  CHECK(table.series_label(4) == "a\\\\x41");
}

TEST_CASE("a thousand names each keep their slot", "[comm_table]") {
  CommTable table(1000, CommFilter());
  std::vector<CommStats*> slots;
  for (int i = 0; i < 1000; ++i) slots.push_back(stats(table, "worker-" + std::to_string(i)));
  CHECK(std::set<CommStats*>(slots.begin(), slots.end()).size() == 1000);
  for (int i = 0; i < 1000; ++i) REQUIRE(stats(table, "worker-" + std::to_string(i)) == slots[i]);
  CHECK(table.series_count() == 1000);
  CHECK(table.overflow_events() == 0);
}

TEST_CASE("names beyond max_comm_series share the overflow slot", "[comm_table]") {
  CommTable table(3, CommFilter());
  CommStats* first = stats(table, "one");
  stats(table, "two");
  stats(table, "three");
  CHECK(table.overflow_events() == 0);

  CHECK(stats(table, "four") == &table.overflow());
  CHECK(stats(table, "five") == &table.overflow());
  CHECK(stats(table, "four") == &table.overflow());
  CHECK(table.overflow_events() == 3);
  CHECK(table.series_count() == 3);
  // Names that had a slot keep it.
  CHECK(stats(table, "one") == first);
  CHECK(table.overflow_events() == 3);
}

TEST_CASE("with max_comm_series 0 every name overflows", "[comm_table]") {
  CommTable table(0, CommFilter());
  CHECK(stats(table, "bash") == &table.overflow());
  CHECK(table.series_count() == 0);
  CHECK(table.overflow_events() == 1);
}

TEST_CASE("include globs admit, exclude globs win", "[comm_table][filter]") {
  const CommFilter filter({"ba*", "kworker*", "python3.[0-9]*"}, {"bad*"});
  CHECK(filter.admits(CommName("bash")));
  CHECK(filter.admits(CommName("kworker/0:1-events")));  // '*' crosses '/'
  CHECK(filter.admits(CommName("python3.11")));
  CHECK_FALSE(filter.admits(CommName("python3")));
  CHECK_FALSE(filter.admits(CommName("badger")));
  CHECK_FALSE(filter.admits(CommName("ls")));
  CHECK_FALSE(filter.admits(CommName("")));

  const CommFilter exclude_only({}, {"sshd*", "cron"});
  CHECK(exclude_only.admits(CommName("bash")));
  CHECK(exclude_only.admits(CommName("crond")));
  CHECK_FALSE(exclude_only.admits(CommName("cron")));
  CHECK_FALSE(exclude_only.admits(CommName("sshd: root")));

  CHECK(CommFilter().admits(CommName("anything")));
}

TEST_CASE("excluded names get no slot and consume no series", "[comm_table][filter]") {
  CommTable table(2, CommFilter({}, {"x*"}));
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 10; ++i) CHECK(stats(table, "x" + std::to_string(i)) == nullptr);
  CHECK(table.series_count() == 0);
  CommStats* a = stats(table, "a");
  CommStats* b = stats(table, "b");
  CHECK(a != nullptr);
  CHECK(b != nullptr);
  CHECK(a != b);
  CHECK(table.series_count() == 2);
  // Beyond the cache of excluded names (2 here) the filter still decides.
  CHECK(stats(table, "x9") == nullptr);
  CHECK(stats(table, "c") == &table.overflow());
  CHECK(table.overflow_events() == 1);
}

TEST_CASE("with an include list, other names are excluded, not overflowed",
          "[comm_table][filter]") {
  CommTable table(1, CommFilter({"nginx"}, {}));
  CHECK(stats(table, "bash") == nullptr);
  CHECK(stats(table, "nginx") != nullptr);
  CHECK(stats(table, "bash") == nullptr);
  CHECK(table.overflow_events() == 0);
  CHECK(table.series_count() == 1);
}

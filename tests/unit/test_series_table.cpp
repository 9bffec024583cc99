// The bounded key -> stats map: one series per key, a fixed number of them, filters
// decided once per key and a bounded cost per event whatever keys arrive.
#include <fnmatch.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "events/comm_filter.h"
#include "metrics/comm_label.h"
#include "metrics/process_stats.h"
#include "metrics/series_table.h"

namespace {

// The series a reader sees, in order: (labels, stats) of each.
template <typename Table>
auto series_of(const Table& table) {
  using Labels = std::decay_t<decltype(table.overflow_labels())>;
  using Stats = std::decay_t<decltype(table.overflow())>;
  std::vector<std::pair<const Labels*, const Stats*>> series;
  table.read().for_each(
      [&](const Labels& labels, const Stats& stats) { series.emplace_back(&labels, &stats); });
  return series;
}

using execmond::CommFilter;
using execmond::CommLabel;
using execmond::CommName;
using CommStats = execmond::ProcessStats;

struct CommTable : execmond::SeriesTable<CommName, CommStats, CommLabel, CommFilter> {
  CommTable(std::size_t max_series, CommFilter filter)
      : SeriesTable(max_series, max_series, std::move(filter)) {}
  std::string_view series_label(std::size_t index) const {
    return series_of(*this).at(index).first->view();
  }
  const CommStats& series(std::size_t index) const { return *series_of(*this).at(index).second; }
};

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

namespace {

// A filter that counts every glob it evaluates: the per-event cost the table bounds.
struct CountingFilter {
  std::vector<std::string> exclude_globs;
  std::uint64_t* globs_evaluated;

  bool admits(const CommName& comm) const {
    const std::string name(comm.view());
    for (const std::string& glob : exclude_globs) {
      ++*globs_evaluated;
      if (fnmatch(glob.c_str(), name.c_str(), 0) == 0) return false;
    }
    return true;
  }
};

using CountingTable = execmond::SeriesTable<CommName, CommStats, CommLabel, CountingFilter>;

std::vector<std::string> long_filter_list() {
  std::vector<std::string> globs;
  for (int i = 0; i < 100; ++i) globs.push_back("nomatch-" + std::to_string(i) + "-*");
  globs.push_back("x*");
  return globs;
}

}  // namespace

TEST_CASE("a burst of new names runs each name's globs once, however many arrive",
          "[series_table][filter]") {
  // The defect: names past max_comm_series and excluded names past a cache that stopped
  // filling re-ran every glob on every event; 20,000 new names stalled the reader 12 s.
  std::uint64_t globs = 0;
  const std::vector<std::string> list = long_filter_list();
  CountingTable table(10, 10, CountingFilter{list, &globs});
  constexpr int kNames = 20'000;
  constexpr int kEventsPerName = 3;  // exec, exit, and a failed exec
  for (int i = 0; i < kNames; ++i) {
    const CommName excluded("x" + std::to_string(i));
    const CommName admitted("w" + std::to_string(i));
    for (int e = 0; e < kEventsPerName; ++e) {
      REQUIRE(table.stats_for_event(excluded) == nullptr);
      REQUIRE(table.stats_for_event(admitted) != nullptr);
    }
  }
  // One filter run per name, not per event: the verdicts of excluded names and of names
  // past the bound are cached, the cache evicting old verdicts for new ones.
  CHECK(table.filter_runs() == 2 * kNames);
  CHECK(globs == kNames * list.size() + kNames * list.size());
  CHECK(table.series_count() == 10);
  CHECK(table.overflow_events() == (kNames - 10) * kEventsPerName);

  // A name evicted from the cache is decided again, once.
  const std::uint64_t runs = table.filter_runs();
  CHECK(table.stats_for_event(CommName("x0")) == nullptr);
  CHECK(table.stats_for_event(CommName("x0")) == nullptr);
  CHECK(table.filter_runs() <= runs + 1);
}

TEST_CASE("names with a series never run the filter again", "[series_table][filter]") {
  std::uint64_t globs = 0;
  CountingTable table(100, 100, CountingFilter{long_filter_list(), &globs});
  for (int round = 0; round < 50; ++round)
    for (int i = 0; i < 100; ++i) table.stats_for_event(CommName("w" + std::to_string(i)));
  CHECK(table.filter_runs() == 100);
}

namespace {

// A composite key, as the daemon's (comm, unit, container) or (path, comm).
struct CommAndUnit {
  CommName comm;
  std::uint64_t unit;
};
struct CommAndUnitLabels {
  explicit CommAndUnitLabels(const CommAndUnit& key)
      : comm(key.comm), unit("u" + std::to_string(key.unit)) {}
  static CommAndUnitLabels overflow() { return CommAndUnitLabels(); }
  CommAndUnitLabels() : comm(CommLabel::overflow()), unit("overflow") {}
  CommLabel comm;
  std::string unit;
};
struct AdmitAll {
  bool admits(const CommAndUnit&) const { return true; }
};
using CompositeTable = execmond::SeriesTable<CommAndUnit, CommStats, CommAndUnitLabels, AdmitAll>;

}  // namespace

TEST_CASE("composite keys: one series per combination, the bound over all of them",
          "[series_table]") {
  CompositeTable table(4, 4, AdmitAll{});
  CommStats* sh_a = table.stats_for_event({CommName("sh"), 1});
  CommStats* sh_b = table.stats_for_event({CommName("sh"), 2});
  CommStats* ls_a = table.stats_for_event({CommName("ls"), 1});
  CHECK(std::set<CommStats*>{sh_a, sh_b, ls_a}.size() == 3);
  CHECK(table.stats_for_event({CommName("sh"), 1}) == sh_a);
  REQUIRE(table.series_count() == 3);
  CHECK(series_of(table).at(1).first->comm.view() == "sh");
  CHECK(series_of(table).at(1).first->unit == "u2");
  table.stats_for_event({CommName("ls"), 2});
  CHECK(table.stats_for_event({CommName("ls"), 3}) == &table.overflow());
  CHECK(table.stats_for_event({CommName("cat"), 1}) == &table.overflow());
  CHECK(table.overflow_events() == 2);
  CHECK(table.overflow_labels().comm.view() == "execmond_overflow");
}

TEST_CASE("apply: bounds and filters change, counters stay", "[series_table][reload]") {
  execmond::SeriesTable<CommName, CommStats, CommLabel, CommFilter> table(5, 2, CommFilter());
  CommStats* a = table.stats_for_event(CommName("a"));
  a->execs.add(7);
  CommStats* b = table.stats_for_event(CommName("b"));
  CHECK(table.stats_for_event(CommName("c")) == &table.overflow());
  CHECK(table.series_limit() == 2);

  // Raised: the name that overflowed before gets its own series now.
  table.apply(4, CommFilter());
  CHECK(table.series_limit() == 4);
  CommStats* c = table.stats_for_event(CommName("c"));
  CHECK(c != &table.overflow());
  CHECK(table.series_count() == 3);

  // A filter that excludes "a": its series stops counting but keeps its value.
  table.apply(4, CommFilter({}, {"a"}));
  CHECK(table.stats_for_event(CommName("a")) == nullptr);
  CHECK(table.stats_for_event(CommName("b")) == b);
  REQUIRE(table.series_count() == 3);
  CHECK(series_of(table).at(0).first->view() == "a");
  CHECK(series_of(table).at(0).second->execs.value() == 7);

  // Lowered below the series in use: they keep counting, new names overflow.
  table.apply(1, CommFilter());
  CHECK(table.stats_for_event(CommName("a")) == a);
  CHECK(table.stats_for_event(CommName("d")) == &table.overflow());
  CHECK(table.series_count() == 3);

  CHECK_THROWS_AS(table.apply(6, CommFilter()), std::invalid_argument);
}

// --- Removal of idle series (series_ttl) ------------------------------------------------

TEST_CASE("idle series are removed and their slots go to new keys", "[series_table][ttl]") {
  CommTable table(3, CommFilter());
  table.set_now(0);
  CommStats* a = stats(table, "a");
  stats(table, "b")->execs.add(5);
  stats(table, "c");
  CHECK(stats(table, "d") == &table.overflow());
  table.set_now(15);
  CHECK(stats(table, "a") == a);  // seen at 15
  table.set_now(20);
  CHECK(table.expire(0) == 0);   // ttl 0: nothing is ever removed
  CHECK(table.expire(10) == 2);  // b and c, idle for 20
  CHECK(table.expired_series() == 2);
  CHECK(table.series_count() == 1);
  REQUIRE(series_of(table).size() == 1);
  CHECK(series_of(table)[0].first->view() == "a");

  // The name that overflowed, and another, get the freed places; the next overflows.
  CommStats* d = stats(table, "d");
  CHECK(d != &table.overflow());
  CommStats* e = stats(table, "e");
  CHECK(e != &table.overflow());
  CHECK(stats(table, "f") == &table.overflow());
  CHECK(table.overflow_events() == 2);
  CHECK(table.series_count() == 3);
  // A name that comes back after its removal starts from zero: a counter reset.
  table.set_now(100);
  table.expire(10);
  CommStats* b = stats(table, "b");
  REQUIRE(b != &table.overflow());
  CHECK(b->execs.value() == 0);
}

TEST_CASE("a reading in progress keeps removed series from being reused", "[series_table][ttl]") {
  CommTable table(2, CommFilter());
  table.set_now(0);
  stats(table, "old1")->execs.add(1);
  stats(table, "old2")->execs.add(2);
  std::optional<CommTable::Reading> reading;
  reading.emplace(table);
  std::vector<const CommLabel*> seen;
  reading->for_each([&](const CommLabel& label, const CommStats&) { seen.push_back(&label); });
  REQUIRE(seen.size() == 2);

  table.set_now(100);
  CHECK(table.expire(10) == 2);
  CHECK(table.series_count() == 0);
  // Still being read: the slots stay as they were, and new names overflow meanwhile.
  CHECK(stats(table, "new1") == &table.overflow());
  CHECK(seen[0]->view() == "old1");
  CHECK(seen[1]->view() == "old2");
  // A reading that starts now no longer sees them.
  CHECK(series_of(table).empty());
  table.expire(10);
  CHECK(stats(table, "new2") == &table.overflow());

  reading.reset();
  table.expire(10);  // the grace period is over: the slots are free
  CHECK(stats(table, "new1") != &table.overflow());
  CHECK(stats(table, "new2") != &table.overflow());
  std::set<std::string> names;
  for (const auto& [label, s] : series_of(table)) names.insert(std::string(label->view()));
  CHECK(names == std::set<std::string>{"new1", "new2"});
}

TEST_CASE("after removals every remaining key still finds its own series", "[series_table][ttl]") {
  // Removal shifts later entries of a probe run back; a key lost from the index would
  // get a second series.
  CommTable table(2000, CommFilter());
  std::mt19937 random(1);
  std::map<std::string, CommStats*> live;
  table.set_now(0);
  for (int round = 1; round <= 20; ++round) {
    table.set_now(static_cast<std::uint64_t>(round) * 100);
    for (auto& [name, s] : live)  // about half are seen again
      if (random() % 2) REQUIRE(stats(table, name) == s);
    for (int i = 0; i < 300; ++i) {
      const std::string name = "r" + std::to_string(round) + "-" + std::to_string(i);
      CommStats* s = stats(table, name);
      REQUIRE(s != nullptr);
      REQUIRE(s != &table.overflow());
      live[name] = s;
    }
    table.set_now(static_cast<std::uint64_t>(round) * 100 + 99);
    table.expire(98);  // what was not seen this round
    std::set<std::string> listed;
    for (const auto& [label, s] : series_of(table)) listed.insert(std::string(label->view()));
    for (auto it = live.begin(); it != live.end();)
      it = listed.count(it->first) ? std::next(it) : live.erase(it);
    REQUIRE(listed.size() == live.size());
    REQUIRE(table.series_count() == live.size());
    for (const auto& [name, s] : live) REQUIRE(stats(table, name) == s);
  }
  CHECK(table.overflow_events() == 0);
}

TEST_CASE("scrapes during removal and reuse always see a series' own labels",
          "[series_table][ttl]") {
  // Each series counts only its own number; a reader that saw labels of one key with the
  // counters of another (a slot reused under it) would see another number.
  struct Tagged {
    execmond::RunningTotal<std::uint64_t> tag;
  };
  struct TaggedLabels {
    explicit TaggedLabels(const CommName& name) : text(name.view()) {}
    static TaggedLabels overflow() { return TaggedLabels(CommName("overflow")); }
    std::string text;  // allocated: a reuse under a reader would also be a use after free
  };
  struct AdmitAll {
    bool admits(const CommName&) const { return true; }
  };
  execmond::SeriesTable<CommName, Tagged, TaggedLabels, AdmitAll> table(64, 64, AdmitAll{});
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> checked{0};
  std::atomic<std::uint64_t> mismatched{0};  // Catch's assertions are for one thread
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        table.read().for_each([&](const TaggedLabels& labels, const Tagged& s) {
          const std::uint64_t tag = s.tag.value();
          if (tag != 0 && labels.text != "k" + std::to_string(tag - 1)) mismatched.fetch_add(1);
          checked.fetch_add(1, std::memory_order_relaxed);
        });
      }
    });
  }
  // Until both sides have done plenty (the machine may be busy: bounded by time).
  std::uint64_t now = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (std::uint64_t i = 0; (checked.load() < 100'000 || table.expired_series() < 5'000) &&
                            std::chrono::steady_clock::now() < deadline;
       ++i) {
    const std::uint64_t key = i % 500;  // more keys than slots: a steady churn of removals
    table.set_now(++now);
    if (Tagged* s = table.stats_for_event(CommName("k" + std::to_string(key)));
        s != nullptr && s != &table.overflow())
      s->tag.add(key + 1 - s->tag.value());
    if (i % 50 == 0) table.expire(40);
  }
  done.store(true);
  for (std::thread& reader : readers) reader.join();
  CHECK(mismatched.load() == 0);
  CHECK(checked.load() >= 100'000);
  CHECK(table.expired_series() >= 5'000);
}

// Per-process-name counters: written by the ring buffer reader, read by scrapes.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "events/comm_filter.h"
#include "events/records.h"
#include "metrics/comm_label.h"
#include "metrics/duration_buckets.h"
#include "metrics/errno_names.h"
#include "metrics/signal_names.h"

namespace execmond {

// A running total that one thread adds to and any thread reads. The writer's add is a
// relaxed load and store, not a locked read-modify-write: with a single writer no add
// is lost, and a reader sees some value the writer stored.
template <typename T>
class RunningTotal {
  static_assert(std::atomic<T>::is_always_lock_free);

 public:
  void add(T amount) {
    value_.store(value_.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
  }
  T value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<T> value_{0};
};

// What the processes of one name did since the daemon started.
struct CommStats {
  RunningTotal<std::uint64_t> execs;
  RunningTotal<std::uint64_t> exits;
  RunningTotal<std::uint64_t> exits_nonzero;  // exited with a non-zero code, not by signal
  std::array<RunningTotal<std::uint64_t>, kSignalSlots> exits_by_signal;        // signal_slot()
  std::array<RunningTotal<std::uint64_t>, kErrnoSlots> exec_failures_by_errno;  // errno_slot()
  // Per bucket, not cumulative: a scrape sums them, so each scrape's histogram is
  // consistent with itself even while exits are being added.
  std::array<RunningTotal<std::uint64_t>, duration_buckets::kBucketCount> lifetime_buckets;
  // Seconds, as a double: an integer of nanoseconds would wrap after 584 process-years,
  // which a thousand long-lived workers of one name add up to in seven months.
  RunningTotal<double> lifetime_sum_seconds;
};

// A bounded map from process name to its CommStats, allocated whole at construction so
// that its memory does not depend on what names processes choose.
//
// One thread, the ring buffer reader, calls stats_for_event(). Scrape threads read the
// slots concurrently: slots are handed out in order and their count published with
// release, so a scrape that loads it with acquire sees the label of every slot below it.
// Counters are relaxed atomics. Nothing is ever removed.
//
// The index is open addressing with linear probing on the two words of the name, at
// most half full: it holds the names with a slot (at most max_comm_series) and a cache
// of excluded names (at most as many), so that the filter's globs run once per name.
// Excluded names beyond that cache are matched again on each of their events.
class CommTable {
 public:
  CommTable(std::size_t max_comm_series, CommFilter filter);
  CommTable(const CommTable&) = delete;
  CommTable& operator=(const CommTable&) = delete;

  // Writer thread only; call once per event. The stats to count the event in: the
  // name's own slot, the overflow slot once max_comm_series names hold one (the event
  // is then counted in overflow_events()), or nullptr when the filter excludes the name.
  CommStats* stats_for_event(const CommName& comm);

  // Any thread.
  std::size_t series_count() const { return published_.load(std::memory_order_acquire); }
  std::size_t series_limit() const { return max_comm_series_; }
  // index < series_count()
  std::string_view series_label(std::size_t index) const {
    return series_.get()[index].label.view();
  }
  const CommStats& series(std::size_t index) const { return series_.get()[index].stats; }
  // The stats of every name that found the table full; labelled kOverflowCommLabel.
  const CommStats& overflow() const { return overflow_; }
  std::uint64_t overflow_events() const { return overflow_events_.value(); }

 private:
  static constexpr std::uint32_t kEmpty = 0;
  static constexpr std::uint32_t kExcluded = 1;
  static constexpr std::uint32_t kFirstSlot = 2;  // state kFirstSlot + n: slot n

  struct IndexEntry {
    std::uint64_t word0 = 0;
    std::uint64_t word1 = 0;
    std::uint32_t state = kEmpty;
  };

  // A name's slot. Constructed when the name claims it: the storage for all of them is
  // allocated at construction but, untouched, costs no resident memory.
  struct Series {
    explicit Series(std::string_view name) : label(name) {}
    CommLabel label;
    CommStats stats;
  };
  static_assert(std::is_trivially_destructible_v<Series>);
  struct FreeStorage {
    void operator()(Series* storage) const { ::operator delete(storage); }
  };

  std::size_t home(std::uint64_t word0, std::uint64_t word1) const;
  CommStats* first_sight(const CommName& comm, IndexEntry& vacant);

  const std::size_t max_comm_series_;
  const std::size_t max_excluded_names_;
  const CommFilter filter_;
  const std::uint64_t seed_;  // random: names chosen to collide cannot lengthen probes
  std::size_t index_mask_ = 0;
  unsigned index_shift_ = 0;
  std::unique_ptr<IndexEntry[]> index_;
  std::unique_ptr<Series, FreeStorage> series_;  // [max_comm_series_], the first published_ built
  CommStats overflow_;
  RunningTotal<std::uint64_t> overflow_events_;
  std::size_t excluded_names_ = 0;  // writer thread only
  std::atomic<std::size_t> published_{0};
};

}  // namespace execmond

// A bounded map from a series' label values to its counters: written by the ring buffer
// reader, read by scrapes. Series unseen for a while can be removed to make room.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <random>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "metrics/running_total.h"

namespace execmond {

// SeriesTable<Key, Stats, Labels, Filter> maps each Key to one Stats, in at most
// `capacity` series allocated whole at construction: its memory does not depend on what
// keys events bring. Untouched series cost no resident memory.
//
// - Key: every label value of a series, fixed-size, compared and hashed as bytes (so
//   it must have no padding and equal values must have equal bytes).
// - Labels: the rendered label values, built once from the Key when the key is first
//   seen (`explicit Labels(const Key&)`), and `static Labels overflow()`: the labels of
//   the series that counts every key beyond the bound. The Labels type proves that no
//   key renders to those.
// - Filter: `bool admits(const Key&) const`; excluded keys are counted nowhere.
//
// One thread, the writer, calls stats_for_event(), apply() and expire(). Other threads
// read the series concurrently through read(), never blocking the writer. Counters are
// relaxed atomics.
//
// Removal (expire()): a series its key has not reached for a given time leaves the
// index at once and the exposition with it, and its slot is reused once no read that
// could still see it is running. Readers announce themselves in one of two epoch
// counters; the writer retires slots in batches, moves to the next epoch, and frees a
// batch when the counter of the epoch it was retired in drops to zero. The writer only
// looks at the counters, so a reader never delays an event: a slot still in view is
// simply reused later (until then a new key may count as overflow).
//
// The cost of an event is bounded whatever keys arrive. A key with a series is a hash
// and a probe of an index at most half full. A key without one (excluded, or past the
// bound) is looked up in a verdict cache, and on a miss the filter runs once and its
// verdict replaces the older of two the cache held at that place: a burst of new keys
// evicts old verdicts instead of leaving later keys to run every glob on every event.
// So an event costs at most one run of the filter.
template <typename Key, typename Stats, typename Labels, typename Filter>
class SeriesTable {
  static_assert(std::is_trivially_copyable_v<Key> && std::has_unique_object_representations_v<Key>,
                "keys are compared and hashed as bytes");
  static_assert(sizeof(Key) % sizeof(std::uint64_t) == 0, "keys are hashed as whole words");

  struct Series;

 public:
  // Verdicts remembered for keys without a series; a power of two.
  static constexpr std::size_t kVerdictCacheSize = 4096;

  // `max_series` <= `capacity` series may be used until apply() changes it.
  SeriesTable(std::size_t capacity, std::size_t max_series, Filter filter)
      : capacity_(capacity), filter_(std::move(filter)), seed_(random_seed()) {
    if (capacity > std::numeric_limits<std::uint32_t>::max() / 4)
      throw std::invalid_argument("series table capacity too large");
    if (max_series > capacity) throw std::invalid_argument("max_series exceeds the capacity");
    limit_.store(max_series, std::memory_order_relaxed);
    // At most half full keeps probes short and guarantees a miss ends at an empty entry.
    std::size_t entries = 16;
    unsigned bits = 4;
    while (entries < 2 * capacity_) {
      entries *= 2;
      ++bits;
    }
    index_mask_ = entries - 1;
    index_shift_ = 64 - bits;
    index_ = std::make_unique<IndexEntry[]>(entries);
    verdicts_ = std::make_unique<Verdict[]>(kVerdictCacheSize);
    older_way_ = std::make_unique<std::uint8_t[]>(kVerdictSets);
    series_.reset(static_cast<Series*>(::operator new(capacity_ * sizeof(Series))));
    live_ = std::make_unique<std::atomic<bool>[]>(capacity_);
    // Reserved now: expire() never allocates.
    free_slots_.reserve(capacity_);
    retiring_.reserve(capacity_);
    waiting_.reserve(capacity_);
  }
  ~SeriesTable() {
    const std::size_t built = high_water_.load(std::memory_order_relaxed);
    std::vector<bool> constructed(built, true);
    for (const std::uint32_t slot : free_slots_) constructed[slot] = false;
    for (std::size_t i = 0; i < built; ++i)
      if (constructed[i]) series_.get()[i].~Series();
  }
  SeriesTable(const SeriesTable&) = delete;
  SeriesTable& operator=(const SeriesTable&) = delete;

  // Writer thread; call once per event. The stats to count the event in: the key's own
  // series, the overflow series once the bound is reached (the event is then counted in
  // overflow_events()), or nullptr when the filter excludes the key.
  Stats* stats_for_event(const Key& key) {
    const std::uint64_t hash = hash_of(key);
    const auto tag = static_cast<std::uint32_t>(hash);
    for (std::size_t i = hash >> index_shift_;; i = (i + 1) & index_mask_) {
      IndexEntry& entry = index_[i];
      if (entry.slot == kNoSlot) return without_series(key, hash, entry);
      if (entry.tag != tag) continue;
      Series& series = series_.get()[entry.slot];
      if (same(series.key, key)) {
        series.last_seen = now_;
        return series.counting ? &series.stats : nullptr;
      }
    }
  }

  // Writer thread (the daemon posts it to the reader on reload). A new bound, up to the
  // capacity, and a new filter. Every counter keeps its value. Series beyond a lowered
  // bound keep counting; series the new filter excludes stop counting but stay exported.
  void apply(std::size_t max_series, Filter filter) {
    if (max_series > capacity_) throw std::invalid_argument("max_series exceeds the capacity");
    filter_ = std::move(filter);
    limit_.store(max_series, std::memory_order_relaxed);
    const std::size_t built = high_water_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < built; ++i) {
      if (!live_[i].load(std::memory_order_relaxed)) continue;
      Series& series = series_.get()[i];
      series.counting = run_filter(series.key);
    }
    forget_verdicts();
  }

  // Writer thread: the time events are stamped with from now on, in any steady unit
  // (the daemon uses milliseconds).
  void set_now(std::uint64_t now) { now_ = now; }

  // Writer thread. Removes the series whose key has not come for more than `ttl` (0:
  // none), and frees for new keys the slots no reader can see any more. Returns how many
  // series it removed. O(series), no allocation: call it now and then, not per event.
  std::size_t expire(std::uint64_t ttl) {
    std::size_t removed = 0;
    if (ttl != 0) {
      const std::size_t built = high_water_.load(std::memory_order_relaxed);
      for (std::size_t slot = 0; slot < built; ++slot) {
        if (!live_[slot].load(std::memory_order_relaxed)) continue;
        const std::uint64_t last_seen = series_.get()[slot].last_seen;
        if (now_ < last_seen || now_ - last_seen <= ttl) continue;
        unindex(static_cast<std::uint32_t>(slot));
        // Sequentially consistent with the readers' epoch counters (reclaim()).
        live_[slot].store(false, std::memory_order_seq_cst);
        retiring_.push_back(static_cast<std::uint32_t>(slot));
        ++removed;
      }
      if (removed > 0) {
        live_count_.store(live_count_.load(std::memory_order_relaxed) - removed,
                          std::memory_order_relaxed);
        expired_.add(removed);
      }
    }
    reclaim();
    return removed;
  }

  // The series as one consistent view: while a Reading lives, no series it can see is
  // reused. Any thread, any number at once; the writer never waits for one.
  class Reading {
   public:
    explicit Reading(const SeriesTable& table) : table_(table) {
      for (;;) {
        epoch_ = table_.epoch_.load(std::memory_order_seq_cst);
        table_.readers_[epoch_ & 1].fetch_add(1, std::memory_order_seq_cst);
        if (table_.epoch_.load(std::memory_order_seq_cst) == epoch_) break;
        table_.readers_[epoch_ & 1].fetch_sub(1, std::memory_order_seq_cst);
      }
    }
    ~Reading() { table_.readers_[epoch_ & 1].fetch_sub(1, std::memory_order_seq_cst); }
    Reading(const Reading&) = delete;
    Reading& operator=(const Reading&) = delete;

    // fn(const Labels&, const Stats&) for every series, in the order keys came (a
    // removed key's slot is reused by a later one).
    template <typename Fn>
    void for_each(Fn&& fn) const {
      const std::size_t built = table_.high_water_.load(std::memory_order_acquire);
      for (std::size_t i = 0; i < built; ++i) {
        if (!table_.live_[i].load(std::memory_order_seq_cst)) continue;
        const Series& series = table_.series_.get()[i];
        fn(series.labels, series.stats);
      }
    }

   private:
    const SeriesTable& table_;
    std::uint64_t epoch_ = 0;
  };
  Reading read() const { return Reading(*this); }

  // Any thread.
  std::size_t series_count() const { return live_count_.load(std::memory_order_relaxed); }
  std::size_t series_limit() const { return limit_.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return capacity_; }
  // Series removed by expire() since the start.
  std::uint64_t expired_series() const { return expired_.value(); }
  // Every key that found the table full.
  const Labels& overflow_labels() const { return overflow_labels_; }
  const Stats& overflow() const { return overflow_; }
  std::uint64_t overflow_events() const { return overflow_events_.value(); }

  // Writer thread: how many times the filter ran, for tests of the per-event cost.
  std::uint64_t filter_runs() const { return filter_runs_; }

 private:
  static constexpr std::uint32_t kNoSlot = std::numeric_limits<std::uint32_t>::max();
  static constexpr std::size_t kVerdictSets = kVerdictCacheSize / 2;
  static constexpr std::size_t kWords = sizeof(Key) / sizeof(std::uint64_t);

  struct IndexEntry {
    std::uint32_t tag = 0;  // low bits of the key's hash: most mismatches end here
    std::uint32_t slot = kNoSlot;
  };

  enum class Outcome : std::uint8_t { kUnknown, kExcluded, kOverflow };
  struct Verdict {
    Key key{};
    Outcome outcome = Outcome::kUnknown;
  };

  // A key's series. Constructed when the key claims a slot, destroyed when the slot is
  // freed: the storage for all of them is allocated at construction but, untouched,
  // costs no resident memory.
  struct Series {
    Series(const Key& k, std::uint64_t now) : key(k), labels(k), last_seen(now) {}
    Key key;
    Labels labels;
    Stats stats;
    std::uint64_t last_seen;  // writer thread only
    bool counting = true;     // writer thread only: the filter admits the key
  };
  struct FreeStorage {
    void operator()(Series* storage) const { ::operator delete(storage); }
  };

  static std::uint64_t random_seed() {
    std::random_device device;
    return (std::uint64_t{device()} << 32) ^ device();
  }

  static bool same(const Key& a, const Key& b) { return std::memcmp(&a, &b, sizeof(Key)) == 0; }

  // Multiplicative hashing over every word, then a final mix so that both the top bits
  // (the index position) and the low bits (tag, verdict position) depend on every bit.
  // The seed is random: keys chosen to collide cannot lengthen probes.
  std::uint64_t hash_of(const Key& key) const {
    std::uint64_t words[kWords];
    std::memcpy(words, &key, sizeof(Key));
    std::uint64_t h = seed_;
    for (std::size_t i = 0; i < kWords; ++i) h = (h ^ words[i]) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 29);
  }

  bool run_filter(const Key& key) {
    ++filter_runs_;
    return filter_.admits(key);
  }

  Stats* count_overflow() {
    overflow_events_.add(1);
    return &overflow_;
  }

  void forget_verdicts() {
    for (std::size_t i = 0; i < kVerdictCacheSize; ++i) verdicts_[i] = Verdict{};
  }

  // A key the index does not hold: a cached verdict, or decide and cache the decision.
  Stats* without_series(const Key& key, std::uint64_t hash, IndexEntry& vacant) {
    const std::size_t set = (hash >> 32) & (kVerdictSets - 1);
    Verdict* ways = &verdicts_[2 * set];
    for (int way = 0; way < 2; ++way) {
      if (ways[way].outcome != Outcome::kUnknown && same(ways[way].key, key))
        return ways[way].outcome == Outcome::kExcluded ? nullptr : count_overflow();
    }
    // Two ways, the older verdict replaced: keys that alternate never evict each other.
    Verdict& replaced = ways[older_way_[set]];
    older_way_[set] ^= 1;
    if (!run_filter(key)) {
      replaced = {key, Outcome::kExcluded};
      return nullptr;
    }
    const std::uint32_t slot = claim_slot();
    if (slot == kNoSlot) {
      replaced = {key, Outcome::kOverflow};
      return count_overflow();
    }
    Series* series = new (series_.get() + slot) Series(key, now_);
    vacant = {static_cast<std::uint32_t>(hash), slot};
    live_[slot].store(true, std::memory_order_release);
    live_count_.store(live_count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    // Only this thread stores high_water_, so a relaxed load reads its own last store.
    if (slot >= high_water_.load(std::memory_order_relaxed))
      high_water_.store(slot + 1, std::memory_order_release);
    return &series->stats;
  }

  // A slot for a new series within the bound: a freed one first, else a fresh one.
  std::uint32_t claim_slot() {
    if (live_count_.load(std::memory_order_relaxed) >= limit_.load(std::memory_order_relaxed))
      return kNoSlot;
    if (!free_slots_.empty()) {
      const std::uint32_t slot = free_slots_.back();
      free_slots_.pop_back();
      return slot;
    }
    const std::size_t fresh = high_water_.load(std::memory_order_relaxed);
    return fresh < capacity_ ? static_cast<std::uint32_t>(fresh) : kNoSlot;
  }

  // Takes a slot's key out of the index. Linear probing without tombstones: each later
  // entry of the probe run moves back into the gap unless its home lies after the gap.
  void unindex(std::uint32_t slot) {
    const std::uint64_t hash = hash_of(series_.get()[slot].key);
    std::size_t gap = hash >> index_shift_;
    while (index_[gap].slot != slot) gap = (gap + 1) & index_mask_;
    index_[gap] = IndexEntry{};
    for (std::size_t i = (gap + 1) & index_mask_; index_[i].slot != kNoSlot;
         i = (i + 1) & index_mask_) {
      const std::size_t home = hash_of(series_.get()[index_[i].slot].key) >> index_shift_;
      // Stays if its home is cyclically within (gap, i].
      const bool stays = gap < i ? (gap < home && home <= i) : (gap < home || home <= i);
      if (stays) continue;
      index_[gap] = index_[i];
      index_[i] = IndexEntry{};
      gap = i;
    }
  }

  // Frees the retired slots no reader can see any more, and starts the grace period of
  // those retired since. Never waits.
  void reclaim() {
    if (!waiting_.empty()) {
      // Readers that entered in the epoch the batch was retired in may still see it.
      if (readers_[waiting_epoch_ & 1].load(std::memory_order_seq_cst) != 0) return;
      for (const std::uint32_t slot : waiting_) {
        series_.get()[slot].~Series();
        free_slots_.push_back(slot);
      }
      waiting_.clear();
      // Keys that overflowed may have a series now.
      forget_verdicts();
    }
    if (retiring_.empty()) return;
    const std::uint64_t epoch = epoch_.load(std::memory_order_relaxed);
    // The next epoch's counter is the previous one's: its readers must all be gone.
    if (readers_[(epoch + 1) & 1].load(std::memory_order_seq_cst) != 0) return;
    epoch_.store(epoch + 1, std::memory_order_seq_cst);
    waiting_.swap(retiring_);
    waiting_epoch_ = epoch;
    reclaim();  // frees the batch now if no reader of its epoch is running
  }

  const std::size_t capacity_;
  Filter filter_;             // writer thread only
  const std::uint64_t seed_;  // random: keys chosen to collide cannot lengthen probes
  std::size_t index_mask_ = 0;
  unsigned index_shift_ = 0;
  std::unique_ptr<IndexEntry[]> index_;          // writer thread only
  std::unique_ptr<Verdict[]> verdicts_;          // [kVerdictCacheSize]: kVerdictSets sets of two
  std::unique_ptr<std::uint8_t[]> older_way_;    // [kVerdictSets]
  std::unique_ptr<Series, FreeStorage> series_;  // [capacity_]
  std::unique_ptr<std::atomic<bool>[]> live_;    // [capacity_]: readers may read the slot
  const Labels overflow_labels_ = Labels::overflow();
  Stats overflow_;
  RunningTotal<std::uint64_t> overflow_events_;
  RunningTotal<std::uint64_t> expired_;
  std::uint64_t filter_runs_ = 0;  // writer thread only
  std::uint64_t now_ = 0;          // writer thread only
  std::atomic<std::size_t> limit_{0};
  std::atomic<std::size_t> live_count_{0};
  std::atomic<std::size_t> high_water_{0};  // slots below have been constructed at least once

  // Reclamation: slots retired in the current epoch, the batch retired in waiting_epoch_
  // (waiting for that epoch's readers), and slots free for new series. Writer thread only.
  std::vector<std::uint32_t> retiring_;
  std::vector<std::uint32_t> waiting_;
  std::uint64_t waiting_epoch_ = 0;
  std::vector<std::uint32_t> free_slots_;
  std::atomic<std::uint64_t> epoch_{0};
  mutable std::atomic<std::uint64_t> readers_[2] = {};
};

}  // namespace execmond

// A bounded map from a series' label values to its counters: written by the ring buffer
// reader, read by scrapes.
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
// One thread, the writer, calls stats_for_event() and apply(). Other threads read the
// series concurrently: series are handed out in order and their count published with
// release, so a reader that loads it with acquire sees the labels of every series below
// it. Counters are relaxed atomics. No series is ever removed.
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
  }
  ~SeriesTable() {
    const std::size_t built = published_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < built; ++i) series_.get()[i].~Series();
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
      if (same(series.key, key)) return series.counting ? &series.stats : nullptr;
    }
  }

  // Writer thread (the daemon posts it to the reader on reload). A new bound, up to the
  // capacity, and a new filter. Every counter keeps its value. Series beyond a lowered
  // bound keep counting; series the new filter excludes stop counting but stay exported.
  void apply(std::size_t max_series, Filter filter) {
    if (max_series > capacity_) throw std::invalid_argument("max_series exceeds the capacity");
    filter_ = std::move(filter);
    limit_.store(max_series, std::memory_order_relaxed);
    const std::size_t built = published_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < built; ++i) {
      Series& series = series_.get()[i];
      series.counting = run_filter(series.key);
    }
    for (std::size_t i = 0; i < kVerdictCacheSize; ++i) verdicts_[i] = Verdict{};
  }

  // Any thread.
  std::size_t series_count() const { return published_.load(std::memory_order_acquire); }
  std::size_t series_limit() const { return limit_.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return capacity_; }
  // index < series_count()
  const Labels& series_labels(std::size_t index) const { return series_.get()[index].labels; }
  const Stats& series(std::size_t index) const { return series_.get()[index].stats; }
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

  // A key's series. Constructed when the key claims it: the storage for all of them is
  // allocated at construction but, untouched, costs no resident memory.
  struct Series {
    explicit Series(const Key& k) : key(k), labels(k) {}
    Key key;
    Labels labels;
    Stats stats;
    bool counting = true;  // writer thread only: the filter admits the key
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
    // Only this thread stores published_, so a relaxed load reads its own last store.
    const std::size_t slot = published_.load(std::memory_order_relaxed);
    if (slot >= limit_.load(std::memory_order_relaxed)) {
      replaced = {key, Outcome::kOverflow};
      return count_overflow();
    }
    Series* series = new (series_.get() + slot) Series(key);
    vacant = {static_cast<std::uint32_t>(hash), static_cast<std::uint32_t>(slot)};
    published_.store(slot + 1, std::memory_order_release);
    return &series->stats;
  }

  const std::size_t capacity_;
  Filter filter_;             // writer thread only
  const std::uint64_t seed_;  // random: keys chosen to collide cannot lengthen probes
  std::size_t index_mask_ = 0;
  unsigned index_shift_ = 0;
  std::unique_ptr<IndexEntry[]> index_;
  std::unique_ptr<Verdict[]> verdicts_;          // [kVerdictCacheSize]: kVerdictSets sets of two
  std::unique_ptr<std::uint8_t[]> older_way_;    // [kVerdictSets]
  std::unique_ptr<Series, FreeStorage> series_;  // [capacity_], the first published_ built
  const Labels overflow_labels_ = Labels::overflow();
  Stats overflow_;
  RunningTotal<std::uint64_t> overflow_events_;
  std::uint64_t filter_runs_ = 0;  // writer thread only
  std::atomic<std::size_t> limit_{0};
  std::atomic<std::size_t> published_{0};
};

}  // namespace execmond

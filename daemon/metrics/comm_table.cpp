#include "metrics/comm_table.h"

#include <limits>
#include <new>
#include <random>
#include <stdexcept>
#include <utility>

namespace execmond {
namespace {

std::uint64_t random_seed() {
  std::random_device device;
  return (std::uint64_t{device()} << 32) ^ device();
}

}  // namespace

CommTable::CommTable(std::size_t max_comm_series, CommFilter filter)
    : max_comm_series_(max_comm_series),
      max_excluded_names_(max_comm_series),
      filter_(std::move(filter)),
      seed_(random_seed()) {
  if (max_comm_series > std::numeric_limits<std::uint32_t>::max() / 4)
    throw std::invalid_argument("max_comm_series is too large for the comm table");
  // At most half full keeps probes short and guarantees a miss ends at an empty entry.
  const std::size_t entries = max_comm_series_ + max_excluded_names_;
  std::size_t capacity = 16;
  unsigned bits = 4;
  while (capacity < 2 * entries) {
    capacity *= 2;
    ++bits;
  }
  index_mask_ = capacity - 1;
  index_shift_ = 64 - bits;
  index_ = std::make_unique<IndexEntry[]>(capacity);
  series_.reset(static_cast<Series*>(::operator new(max_comm_series_ * sizeof(Series))));
}

// Multiplicative hashing: the top bits of the product depend on every bit of both words.
std::size_t CommTable::home(std::uint64_t word0, std::uint64_t word1) const {
  std::uint64_t h = (word0 ^ seed_) * 0x9e3779b97f4a7c15ull;
  h = (h ^ word1) * 0xbf58476d1ce4e5b9ull;
  return static_cast<std::size_t>(h >> index_shift_);
}

CommStats* CommTable::stats_for_event(const CommName& comm) {
  const std::uint64_t word0 = comm.word(0);
  const std::uint64_t word1 = comm.word(1);
  for (std::size_t i = home(word0, word1);; i = (i + 1) & index_mask_) {
    IndexEntry& entry = index_[i];
    if (entry.state == kEmpty) return first_sight(comm, entry);
    if (entry.word0 == word0 && entry.word1 == word1)
      return entry.state == kExcluded ? nullptr : &series_.get()[entry.state - kFirstSlot].stats;
  }
}

// A name the index does not hold: decide, and remember the decision while there is room.
CommStats* CommTable::first_sight(const CommName& comm, IndexEntry& vacant) {
  if (!filter_.admits(comm)) {
    if (excluded_names_ < max_excluded_names_) {
      ++excluded_names_;
      vacant = {comm.word(0), comm.word(1), kExcluded};
    }
    return nullptr;
  }
  // Only this thread stores published_, so a relaxed load reads its own last store.
  const std::size_t slot = published_.load(std::memory_order_relaxed);
  if (slot == max_comm_series_) {
    overflow_events_.add(1);
    return &overflow_;
  }
  Series* series = new (series_.get() + slot) Series(comm.view());
  vacant = {comm.word(0), comm.word(1), kFirstSlot + static_cast<std::uint32_t>(slot)};
  published_.store(slot + 1, std::memory_order_release);
  return &series->stats;
}

}  // namespace execmond

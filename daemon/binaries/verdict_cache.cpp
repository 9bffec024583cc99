#include "binaries/verdict_cache.h"

namespace execmond {

VerdictCache::VerdictCache(std::size_t capacity) : entries_(capacity), live_(capacity, false) {
  std::size_t slots = 16;
  while (slots < 2 * capacity) slots *= 2;
  index_.assign(slots, kEmpty);
  mask_ = slots - 1;
  free_.reserve(capacity);
  for (std::size_t i = capacity; i-- > 0;) free_.push_back(static_cast<std::uint32_t>(i));
}

std::size_t VerdictCache::home(const execmond_binary_id& key) const {
  std::uint64_t h = key.ino * 0x9e3779b97f4a7c15ull;
  h ^= key.ctime_ns + 0x632be59bd9b4e019ull + (h << 6) + (h >> 2);
  h ^= ((std::uint64_t{key.dev} << 32) | key.view) * 0xbf58476d1ce4e5b9ull;
  h ^= h >> 31;
  return static_cast<std::size_t>(h) & mask_;
}

std::size_t VerdictCache::slot_of(const execmond_binary_id& key) const {
  for (std::size_t slot = home(key);; slot = (slot + 1) & mask_) {
    const std::uint32_t entry = index_[slot];
    if (entry == kEmpty || same_key(entries_[entry].key, key)) return slot;
  }
}

CachedVerdict* VerdictCache::find(const execmond_binary_id& key) {
  const std::uint32_t entry = index_[slot_of(key)];
  if (entry == kEmpty) return nullptr;
  entries_[entry].referenced = true;
  return &entries_[entry];
}

std::uint32_t VerdictCache::victim() {
  for (;;) {
    hand_ = (hand_ + 1) % entries_.size();
    if (!live_[hand_]) continue;
    if (entries_[hand_].referenced) {
      entries_[hand_].referenced = false;
      continue;
    }
    return static_cast<std::uint32_t>(hand_);
  }
}

CachedVerdict& VerdictCache::insert(const execmond_binary_id& key,
                                    const std::function<void(const CachedVerdict&)>& evict) {
  std::size_t slot = slot_of(key);
  if (index_[slot] != kEmpty) {
    CachedVerdict& entry = entries_[index_[slot]];
    entry = CachedVerdict{};
    entry.key = key;
    entry.referenced = true;
    return entry;
  }
  if (free_.empty()) {
    const std::uint32_t old = victim();
    if (evict) evict(entries_[old]);
    remove_at(slot_of(entries_[old].key));
    slot = slot_of(key);  // the removal may have moved entries
  }
  const std::uint32_t entry = free_.back();
  free_.pop_back();
  live_[entry] = true;
  entries_[entry] = CachedVerdict{};
  entries_[entry].key = key;
  entries_[entry].referenced = true;
  index_[slot] = entry;
  ++size_;
  return entries_[entry];
}

void VerdictCache::remove_at(std::size_t slot) {
  const std::uint32_t entry = index_[slot];
  if (entry == kEmpty) return;
  live_[entry] = false;
  entries_[entry] = CachedVerdict{};  // frees its path
  free_.push_back(entry);
  --size_;
  // Backward-shift deletion: later entries of the probe run move into the gap, so that
  // no lookup stops early at it.
  std::size_t gap = slot;
  for (std::size_t next = (gap + 1) & mask_; index_[next] != kEmpty; next = (next + 1) & mask_) {
    const std::size_t want = home(entries_[index_[next]].key);
    // Moves if its home is not within (gap, next], cyclically.
    const bool stays = gap <= next ? (gap < want && want <= next) : (gap < want || want <= next);
    if (stays) continue;
    index_[gap] = index_[next];
    gap = next;
  }
  index_[gap] = kEmpty;
}

void VerdictCache::erase(const execmond_binary_id& key) { remove_at(slot_of(key)); }

void VerdictCache::clear() {
  for (std::size_t slot = 0; slot < index_.size(); ++slot) {
    const std::uint32_t entry = index_[slot];
    if (entry == kEmpty) continue;
    live_[entry] = false;
    entries_[entry] = CachedVerdict{};
    free_.push_back(entry);
    index_[slot] = kEmpty;
  }
  size_ = 0;
}

}  // namespace execmond

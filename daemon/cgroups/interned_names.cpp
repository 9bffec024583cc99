#include "cgroups/interned_names.h"

#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>

namespace execmond {

InternedNames::InternedNames(std::size_t capacity, std::size_t max_text_bytes,
                             std::string_view overflow_text)
    : capacity_(capacity), max_text_bytes_(max_text_bytes), overflow_{overflow_text} {
  if (capacity > std::numeric_limits<std::uint32_t>::max() / 4)
    throw std::invalid_argument("too many interned names");
  std::size_t entries = 16;
  while (entries < 2 * capacity) entries *= 2;  // at most half full
  index_mask_ = entries - 1;
  index_ = std::make_unique<std::uint32_t[]>(entries);
  names_ = std::make_unique<InternedName[]>(capacity);
  slots_ = std::make_unique<Slot[]>(capacity);
  free_ = std::make_unique<std::uint32_t[]>(capacity);
  // Slot 0 on top: the slots in use stay at the front.
  for (std::size_t i = 0; i < capacity; ++i)
    free_[i] = static_cast<std::uint32_t>(capacity - 1 - i);
  free_count_ = capacity;
}

InternedNames::~InternedNames() = default;

bool InternedNames::is_slot(const InternedName* name) const {
  return name != nullptr && slot_of(name) < capacity_ && &names_[slot_of(name)] == name;
}

std::size_t InternedNames::home(std::string_view text) const {
  return std::hash<std::string_view>{}(text)&index_mask_;
}

std::size_t InternedNames::pinned() const {
  std::size_t count = 0;
  for (std::size_t i = 0; i < capacity_; ++i) count += slots_[i].text && slots_[i].pinned;
  return count;
}

const InternedName* InternedNames::acquire(std::string_view text) {
  // A probe is bounded by the capacity whatever names cgroups are given.
  for (std::size_t i = home(text);; i = (i + 1) & index_mask_) {
    const std::uint32_t entry = index_[i];
    if (entry == kEmpty) {
      if (free_count_ == 0 || text.size() > max_text_bytes_) return &overflow_;
      const std::uint32_t slot = free_[--free_count_];
      Slot& stored = slots_[slot];
      stored.text = std::make_unique<char[]>(text.size() + 1);
      std::memcpy(stored.text.get(), text.data(), text.size());
      stored.holders = 1;
      stored.pinned = false;
      names_[slot] = InternedName{{stored.text.get(), text.size()}};
      index_[i] = slot + 1;
      ++size_;
      return &names_[slot];
    }
    if (names_[entry - 1].text == text) {
      ++slots_[entry - 1].holders;
      return &names_[entry - 1];
    }
  }
}

void InternedNames::release(const InternedName* name) {
  if (!is_slot(name)) return;  // the overflow name, or none
  const std::size_t slot = slot_of(name);
  Slot& held = slots_[slot];
  if (held.holders > 0) --held.holders;
  if (held.holders == 0 && !held.pinned) forget(slot);
}

// Takes the name out of the index (linear probing without tombstones: the entries after
// the hole that would no longer be reachable from their home move back into it) and
// frees its slot.
void InternedNames::forget(std::size_t slot) {
  std::size_t hole = home(names_[slot].text);
  while (index_[hole] != slot + 1) hole = (hole + 1) & index_mask_;
  for (std::size_t next = (hole + 1) & index_mask_; index_[next] != kEmpty;
       next = (next + 1) & index_mask_) {
    const std::size_t wanted = home(names_[index_[next] - 1].text);
    const bool passes_hole =
        hole <= next ? (wanted <= hole || wanted > next) : (wanted <= hole && wanted > next);
    if (passes_hole) {
      index_[hole] = index_[next];
      hole = next;
    }
  }
  index_[hole] = kEmpty;
  names_[slot] = InternedName{};
  slots_[slot].text.reset();
  free_[free_count_++] = static_cast<std::uint32_t>(slot);
  --size_;
}

}  // namespace execmond

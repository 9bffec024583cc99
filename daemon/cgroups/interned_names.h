// Label values derived from cgroups, each kept once while something may use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace execmond {

// A label value that never moves: series keys hold its address, so two keys with the
// same value have the same bytes.
struct InternedName {
  std::string_view text;
};

// A bounded set of names, each held by the cgroups that have it. At most `capacity`
// names of at most `max_text_bytes` each (the index is allocated at construction, a
// name's text when it arrives); past either bound a new name is the overflow name.
//
// A name that an event was labelled with is pinned: series and the series table's
// verdict cache keep its address for the daemon's lifetime, so it is never removed (and
// its address never given to another text). A name no event used is forgotten when the
// last cgroup holding it is gone, so that cgroups made and removed by the thousand (a
// user's delegated subtree can make any number, with names up to 255 bytes) cannot fill
// the set.
//
// Everything but reading a pinned name's text belongs to one thread; the texts of
// pinned names may be read by any thread that learned of them through a release/acquire
// publication (the series table's).
class InternedNames {
 public:
  InternedNames(std::size_t capacity, std::size_t max_text_bytes, std::string_view overflow_text);
  ~InternedNames();
  InternedNames(const InternedNames&) = delete;
  InternedNames& operator=(const InternedNames&) = delete;

  // The name for `text`, with one more holder: give it back with release().
  const InternedName* acquire(std::string_view text);
  // The name for `text`, kept for good (acquired and pinned).
  const InternedName* intern(std::string_view text) {
    const InternedName* name = acquire(text);
    pin(name);
    return name;
  }
  // One holder fewer; an unpinned name without holders is forgotten.
  void release(const InternedName* name);
  // An event was labelled with `name`: keep it for good. Cheap enough for every event.
  void pin(const InternedName* name) {
    const std::size_t slot = slot_of(name);
    if (slot < capacity_ && !slots_[slot].pinned) slots_[slot].pinned = true;
  }

  const InternedName* overflow() const { return &overflow_; }
  // Names held, pinned ones included.
  std::size_t size() const { return size_; }
  std::size_t pinned() const;

 private:
  static constexpr std::uint32_t kEmpty = 0;  // index entries hold slot number + 1

  struct Slot {
    std::unique_ptr<char[]> text;
    std::uint32_t holders = 0;
    bool pinned = false;
  };

  std::size_t slot_of(const InternedName* name) const {
    // Unsigned: a name that is not one of names_ (the overflow name) is >= capacity_.
    return static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(name) -
                                    reinterpret_cast<std::uintptr_t>(names_.get())) /
           sizeof(InternedName);
  }
  bool is_slot(const InternedName* name) const;
  std::size_t home(std::string_view text) const;
  void forget(std::size_t slot);

  const std::size_t capacity_;
  const std::size_t max_text_bytes_;
  std::size_t index_mask_ = 0;
  std::unique_ptr<std::uint32_t[]> index_;
  std::unique_ptr<InternedName[]> names_;  // [capacity_]
  std::unique_ptr<Slot[]> slots_;          // [capacity_]
  std::unique_ptr<std::uint32_t[]> free_;  // [capacity_]: free slots, a stack
  std::size_t free_count_ = 0;
  std::size_t size_ = 0;
  const InternedName overflow_;
};

}  // namespace execmond

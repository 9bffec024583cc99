// SPDX-License-Identifier: Apache-2.0
// Label values derived from cgroups, each kept once for the daemon's lifetime.
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

// A bounded set of names: at most `capacity` of them and `text_bytes` of text, both
// allocated at construction (untouched, they cost no resident memory). Once either is
// used up, every new name is the overflow name. Names are never removed.
//
// intern() belongs to one thread; the texts it returned may be read by any thread that
// learned of them through a release/acquire publication (the series table's).
class InternedNames {
 public:
  InternedNames(std::size_t capacity, std::size_t text_bytes, std::string_view overflow_text);
  InternedNames(const InternedNames&) = delete;
  InternedNames& operator=(const InternedNames&) = delete;

  const InternedName* intern(std::string_view text);
  const InternedName* overflow() const { return &overflow_; }
  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint32_t kEmpty = 0;  // index entries hold name number + 1

  const std::size_t capacity_;
  const std::size_t text_capacity_;
  std::size_t index_mask_ = 0;
  std::unique_ptr<std::uint32_t[]> index_;
  std::unique_ptr<InternedName[]> names_;  // [capacity_], the first size_ used
  std::unique_ptr<char[]> text_;           // [text_capacity_], the first text_used_ used
  std::size_t size_ = 0;
  std::size_t text_used_ = 0;
  const InternedName overflow_;
};

}  // namespace execmond

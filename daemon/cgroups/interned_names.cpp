// SPDX-License-Identifier: Apache-2.0
#include "cgroups/interned_names.h"

#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>

namespace execmond {

InternedNames::InternedNames(std::size_t capacity, std::size_t text_bytes,
                             std::string_view overflow_text)
    : capacity_(capacity), text_capacity_(text_bytes), overflow_{overflow_text} {
  if (capacity > std::numeric_limits<std::uint32_t>::max() / 4)
    throw std::invalid_argument("too many interned names");
  std::size_t entries = 16;
  while (entries < 2 * capacity) entries *= 2;  // at most half full
  index_mask_ = entries - 1;
  index_ = std::make_unique<std::uint32_t[]>(entries);
  names_.reset(new InternedName[capacity]);
  text_.reset(new char[text_bytes]);  // not initialised: pages are touched as names arrive
}

const InternedName* InternedNames::intern(std::string_view text) {
  // Names come from cgroup directories, which only privileged users create; a probe is
  // bounded by the capacity whatever they choose.
  for (std::size_t i = std::hash<std::string_view>{}(text)&index_mask_;;
       i = (i + 1) & index_mask_) {
    const std::uint32_t entry = index_[i];
    if (entry == kEmpty) {
      if (size_ == capacity_ || text.size() > text_capacity_ - text_used_) return &overflow_;
      char* stored = text_.get() + text_used_;
      std::memcpy(stored, text.data(), text.size());
      text_used_ += text.size();
      names_[size_] = InternedName{{stored, text.size()}};
      index_[i] = static_cast<std::uint32_t>(++size_);
      return &names_[size_ - 1];
    }
    if (names_[entry - 1].text == text) return &names_[entry - 1];
  }
}

}  // namespace execmond

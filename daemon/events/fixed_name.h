// SPDX-License-Identifier: Apache-2.0
// A short name built at compile time ("SIGRTMIN+3", "E41"), so that run-time lookups
// return a view into a constant table and never format.
#pragma once

#include <cstddef>
#include <string_view>

namespace execmond {

template <std::size_t Capacity>
class FixedName {
 public:
  constexpr void append(const char* text) {
    while (*text != '\0') chars_[size_++] = *text++;
  }
  constexpr void append(int number) {
    char digits[12] = {};
    std::size_t count = 0;
    do {
      digits[count++] = static_cast<char>('0' + number % 10);
      number /= 10;
    } while (number != 0);
    while (count > 0) chars_[size_++] = digits[--count];
  }
  constexpr std::string_view view() const { return {chars_, size_}; }

 private:
  char chars_[Capacity] = {};
  std::size_t size_ = 0;
};

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// A 64-bit key of a path: SipHash-2-4 under a random key drawn per index, so that no
// one can choose a path whose key equals a packaged file's.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace execmond {

class PathKeyer {
 public:
  // A key from getrandom(); a fixed one for tests.
  PathKeyer();
  explicit PathKeyer(const std::array<std::uint64_t, 2>& key) : k0_(key[0]), k1_(key[1]) {}

  std::uint64_t operator()(std::string_view path) const;

 private:
  std::uint64_t k0_ = 0;
  std::uint64_t k1_ = 0;
};

}  // namespace execmond

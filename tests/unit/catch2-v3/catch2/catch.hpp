// SPDX-License-Identifier: Apache-2.0
//
// The unit tests are written against Catch2 2's single header (Debian 12). Debian 13
// ships Catch2 3, which split it and moved the string matchers and Approx: this header
// stands in for <catch2/catch.hpp> there (tests/CMakeLists.txt puts its directory on the
// include path only when it finds Catch2 3), so one test source builds with both.
#pragma once

#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators_all.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <string>

namespace Catch {
// Catch2 2's names for the string matchers.
inline Matchers::StringContainsMatcher Contains(const std::string& text) {
  return Matchers::ContainsSubstring(text);
}
inline Matchers::StartsWithMatcher StartsWith(const std::string& text) {
  return Matchers::StartsWith(text);
}
inline Matchers::EndsWithMatcher EndsWith(const std::string& text) {
  return Matchers::EndsWith(text);
}
}  // namespace Catch

// Catch2 2 declares Approx in the global namespace.
using Catch::Approx;

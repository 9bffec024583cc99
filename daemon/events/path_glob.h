// SPDX-License-Identifier: Apache-2.0
// Glob patterns on absolute paths, for the binaries allow-list.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace execmond {

class InvalidGlob : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A pattern such as "/usr/lib/**" or "/opt/*/bin/[a-z]*":
//   *        any run of characters within one path component (no '/')
//   ?        one character other than '/'
//   [abc]    one character of a set other than '/': ranges a-z, [!...] or [^...] negates,
//            a ']' first is literal
//   **       any run of characters, '/' included; as a whole component ("/a/**/b") it
//            is any number of whole components, none included ("/a/b" matches)
//   \c       the character c itself
// fnmatch(3) has no "**"; this is the matcher, compiled once, run as an NFA so that no
// pattern takes more than (pattern length) x (path length) steps.
class PathGlob {
 public:
  static constexpr std::size_t kMaxLength = 1024;

  // Throws InvalidGlob: not absolute, too long, an unclosed '[' or a trailing '\'.
  explicit PathGlob(std::string_view pattern);

  // Bytes are compared as bytes: no case folding, no UTF-8 decoding.
  bool matches(std::string_view path) const;
  const std::string& pattern() const { return pattern_; }

 private:
  enum class Kind : std::uint8_t {
    kLiteral,     // byte
    kAny,         // ?
    kClass,       // [...]: classes_[index]
    kStar,        // *
    kAnything,    // ** inside a component
    kDirs,        // **/ at a component's start: after nothing or a '/'
    kDirsInside,  // ... within a component of it
    kEnd,
  };
  struct State {
    Kind kind;
    unsigned char byte;
    std::uint16_t index;
  };
  struct CharClass {
    bool negated = false;
    bool members[256] = {};
  };

  void add(Kind kind, unsigned char byte = 0, std::uint16_t index = 0);
  void enter(std::size_t state, std::vector<std::uint16_t>& set, std::uint32_t mark) const;
  bool consumes(const State& state, unsigned char c) const;

  std::string pattern_;
  std::vector<State> states_;
  std::vector<CharClass> classes_;
  // Scratch for matches(): the sets of live states. One thread uses a PathGlob.
  mutable std::vector<std::uint16_t> current_, next_;
  mutable std::vector<std::uint32_t> marks_;
  mutable std::uint32_t generation_ = 0;
};

}  // namespace execmond

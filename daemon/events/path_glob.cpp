// SPDX-License-Identifier: Apache-2.0
#include "events/path_glob.h"

#include <algorithm>

namespace execmond {

PathGlob::PathGlob(std::string_view pattern) : pattern_(pattern) {
  if (pattern.empty() || pattern.front() != '/')
    throw InvalidGlob("expected an absolute path pattern starting with /");
  if (pattern.size() > kMaxLength)
    throw InvalidGlob("expected at most " + std::to_string(kMaxLength) + " characters");
  const std::size_t n = pattern.size();
  for (std::size_t i = 0; i < n;) {
    const auto c = static_cast<unsigned char>(pattern[i]);
    if (c == '*') {
      std::size_t end = i;
      while (end < n && pattern[end] == '*') ++end;
      if (end - i == 1) {
        add(Kind::kStar);
      } else if (pattern[i - 1] == '/' && end < n && pattern[end] == '/') {
        add(Kind::kDirs);  // "/**/": the '/' before it is already a literal
        add(Kind::kDirsInside);
        ++end;
      } else {
        add(Kind::kAnything);
      }
      i = end;
    } else if (c == '?') {
      add(Kind::kAny);
      ++i;
    } else if (c == '\\') {
      if (i + 1 == n) throw InvalidGlob("a \\ at the end escapes nothing");
      add(Kind::kLiteral, static_cast<unsigned char>(pattern[i + 1]));
      i += 2;
    } else if (c == '[') {
      CharClass set;
      std::size_t j = i + 1;
      if (j < n && (pattern[j] == '!' || pattern[j] == '^')) {
        set.negated = true;
        ++j;
      }
      bool closed = false;
      for (bool first = true; j < n; first = false) {
        auto low = static_cast<unsigned char>(pattern[j]);
        if (low == ']' && !first) {
          closed = true;
          ++j;
          break;
        }
        if (low == '\\' && j + 1 < n) low = static_cast<unsigned char>(pattern[++j]);
        ++j;
        unsigned char high = low;
        if (j + 1 < n && pattern[j] == '-' && pattern[j + 1] != ']') {
          high = static_cast<unsigned char>(pattern[j + 1]);
          if (high == '\\' && j + 2 < n) high = static_cast<unsigned char>(pattern[++j + 1]);
          j += 2;
        }
        for (unsigned b = low; b <= high; ++b) set.members[b] = true;
      }
      if (!closed) throw InvalidGlob("a [ that starts a set of characters has no closing ]");
      classes_.push_back(set);
      add(Kind::kClass, 0, static_cast<std::uint16_t>(classes_.size() - 1));
      i = j;
    } else {
      add(Kind::kLiteral, c);
      ++i;
    }
  }
  add(Kind::kEnd);
  current_.reserve(states_.size());
  next_.reserve(states_.size());
  marks_.assign(states_.size(), 0);
}

void PathGlob::add(Kind kind, unsigned char byte, std::uint16_t index) {
  states_.push_back(State{kind, byte, index});
}

// Adds `state` and every state reachable from it without consuming a character.
void PathGlob::enter(std::size_t state, std::vector<std::uint16_t>& set, std::uint32_t mark) const {
  if (marks_[state] == mark) return;
  marks_[state] = mark;
  set.push_back(static_cast<std::uint16_t>(state));
  switch (states_[state].kind) {
    case Kind::kStar:
    case Kind::kAnything:
      enter(state + 1, set, mark);
      break;
    case Kind::kDirs:
      enter(state + 2, set, mark);  // no component at all
      break;
    default:
      break;
  }
}

bool PathGlob::consumes(const State& state, unsigned char c) const {
  switch (state.kind) {
    case Kind::kLiteral:
      return c == state.byte;
    case Kind::kAny:
      return c != '/';
    case Kind::kClass:
      return c != '/' && classes_[state.index].members[c] != classes_[state.index].negated;
    default:
      return false;
  }
}

bool PathGlob::matches(std::string_view path) const {
  const auto next_mark = [this] {
    if (++generation_ == 0) {  // wrapped: old marks could look current
      std::fill(marks_.begin(), marks_.end(), 0);
      generation_ = 1;
    }
    return generation_;
  };
  current_.clear();
  enter(0, current_, next_mark());
  for (const char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    const std::uint32_t mark = next_mark();
    next_.clear();
    for (const std::uint16_t s : current_) {
      const State& state = states_[s];
      switch (state.kind) {
        case Kind::kStar:
          if (c != '/') enter(s, next_, mark);
          break;
        case Kind::kAnything:
          enter(s, next_, mark);
          break;
        case Kind::kDirs:
          enter(c == '/' ? s : s + 1u, next_, mark);
          break;
        case Kind::kDirsInside:
          enter(c == '/' ? s - 1u : s, next_, mark);
          break;
        case Kind::kEnd:
          break;
        default:
          if (consumes(state, c)) enter(s + 1u, next_, mark);
      }
    }
    current_.swap(next_);
    if (current_.empty()) return false;
  }
  return std::any_of(current_.begin(), current_.end(),
                     [this](std::uint16_t s) { return states_[s].kind == Kind::kEnd; });
}

}  // namespace execmond

// A binary record as the allow-list judges it: which path, and whether it can be allowed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "events/records.h"

namespace execmond {

// Flags that make a binary unexpected whatever its path: no honest name (deleted,
// memfd, outside the process's root) or only part of one. A relative script path whose
// working directory could not be named counts as a cut script path.
inline constexpr std::uint32_t kNeverAllowedBinaryFlags =
    EXECMOND_BINARY_DELETED | EXECMOND_BINARY_MEMFD | EXECMOND_BINARY_PATH_TRUNCATED |
    EXECMOND_BINARY_SCRIPT_TRUNCATED | EXECMOND_BINARY_UNREACHABLE;

// The path of a binary the kernel sent no path for: never a real path (those start
// with '/'), never allowed (the record is flagged truncated).
inline constexpr std::string_view kUnresolvedPath = "(unresolved)";

// Views of one record, valid while it is: no allocation.
class ResolvedBinary {
 public:
  explicit ResolvedBinary(const execmond_binary_event& e);

  // The file that runs: for a script, its interpreter. kUnresolvedPath when the kernel
  // could not resolve it (its scratch buffer was taken by a preempted walk).
  std::string_view executable() const { return executable_; }
  // Scripts: the script (the caller's string joined to its working directory when
  // relative), "." and ".." folded; empty otherwise.
  std::string_view script() const { return {script_, script_size_}; }
  bool is_script() const { return flags_ & EXECMOND_BINARY_SCRIPT; }
  // What the allow-list judges and the metric names: the script for a script.
  std::string_view path() const { return is_script() ? script() : executable(); }
  std::uint32_t flags() const { return flags_; }
  bool may_be_allowed() const { return (flags_ & kNeverAllowedBinaryFlags) == 0; }

 private:
  std::string_view executable_;
  std::uint32_t flags_;
  std::size_t script_size_ = 0;
  char script_[2 * EXECMOND_PATH_LEN];
};

// "/tmp/./a/../x.sh" -> "/tmp/x.sh": lexically, as the kernel cannot (the script is the
// caller's string joined to its working directory). Writes at most path.size() + 1
// bytes to `out`; returns how many.
std::size_t fold_dot_components(std::string_view path, char* out);

}  // namespace execmond

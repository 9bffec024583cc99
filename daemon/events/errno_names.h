// SPDX-License-Identifier: Apache-2.0
// Names for the `errno` label of execmond_exec_failures_total.
#pragma once

#include <cstddef>
#include <string_view>

namespace execmond {

// The largest errno Linux defines (EHWPOISON) on x86_64 and arm64.
inline constexpr int kMaxErrno = 133;
// Counters per errno: slot n counts errno n; slot 0 counts values outside 1..133, which
// execve does not return, so that even those are not lost.
inline constexpr std::size_t kErrnoSlots = kMaxErrno + 1;

constexpr std::size_t errno_slot(int error) {
  return error >= 1 && error <= kMaxErrno ? static_cast<std::size_t>(error) : 0;
}

// "ENOENT", "EACCES", ...; numbers in 1..133 without a name (41, 58) "E41"; anything
// else "E_OUT_OF_RANGE". The strings are built at compile time and live for the whole
// program.
std::string_view errno_name(int error);

}  // namespace execmond

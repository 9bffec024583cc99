// SPDX-License-Identifier: Apache-2.0
// Names for the `signal` label of execmond_exits_signaled_total.
#pragma once

#include <cstddef>
#include <string_view>

namespace execmond {

// Linux numbers signals 1..64 (_NSIG) on x86_64 and arm64.
inline constexpr int kMaxSignal = 64;
// Counters per signal: slot n counts signal n; slot 0 counts numbers outside 1..64,
// which the kernel does not produce, so that even those are not lost.
inline constexpr std::size_t kSignalSlots = kMaxSignal + 1;

constexpr std::size_t signal_slot(int signal) {
  return signal >= 1 && signal <= kMaxSignal ? static_cast<std::size_t>(signal) : 0;
}

// "SIGKILL", "SIGSEGV", ...; real-time signals as userspace numbers them, "SIGRTMIN"
// (34) and "SIGRTMIN+1" .. "SIGRTMIN+30" (64); other numbers in 1..64 "SIG32";
// anything else "SIG_OUT_OF_RANGE". The strings are built at compile time and live for
// the whole program.
std::string_view signal_name(int signal);

}  // namespace execmond

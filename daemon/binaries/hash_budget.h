// SPDX-License-Identifier: Apache-2.0
// How fast the hash worker may go: a share of one core's CPU time and a read rate, so
// that a flood of new files costs the host a bounded amount and only delays hashes.
#pragma once

#include <cstdint>

namespace execmond {

// Two token buckets, refilled by the wall clock: CPU nanoseconds (the worker's own,
// CLOCK_THREAD_CPUTIME_ID) and bytes read. Pure: the worker passes the clocks in.
class HashBudget {
 public:
  struct Limits {
    double cpu_share = 0.2;                      // of one core
    double bytes_per_second = 64.0 * (1 << 20);  // page cache or disk
    std::uint64_t burst_ns = 100'000'000;        // either bucket holds this much time
  };
  explicit HashBudget(const Limits& limits) : limits_(limits) {}
  HashBudget() : HashBudget(Limits{}) {}

  // Charges work done up to `now_ns` (monotonic); returns how long to sleep before more
  // work keeps within both limits (0: go on).
  std::uint64_t charge(std::uint64_t cpu_ns, std::uint64_t bytes, std::uint64_t now_ns);

  const Limits& limits() const { return limits_; }

 private:
  Limits limits_;
  std::uint64_t updated_ns_ = 0;
  bool started_ = false;
  // Tokens: CPU ns and bytes that may still be spent; negative is a debt to sleep off.
  double cpu_tokens_ = 0;
  double byte_tokens_ = 0;
};

}  // namespace execmond

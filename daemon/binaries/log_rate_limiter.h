// SPDX-License-Identifier: Apache-2.0
// How many unexpected-exec log lines may be written: a storm of execs of one binary, or of
// many, must not flood the journal or slow the ring buffer reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace execmond {

// Token buckets: one per path, in a bounded table, and one for all paths together. A
// path's bucket lives in a slot chosen by its hash; a new path that lands on a taken slot
// takes it over with a full bucket, so memory stays bounded and a flood of distinct paths
// is held back by the overall bucket instead.
class LogRateLimiter {
 public:
  struct Limits {
    double per_path_burst = 5;              // lines of one path at once
    double per_path_per_second = 1.0 / 60;  // then one a minute
    double total_burst = 100;               // lines of all paths at once
    double total_per_second = 10;           // then ten a second
  };
  static constexpr std::size_t kSlots = 4096;

  explicit LogRateLimiter(const Limits& limits);
  LogRateLimiter() : LogRateLimiter(Limits{}) {}

  // One thread. `now_ns`: any monotonic clock (the event's timestamp). True: write it.
  bool admit(std::string_view path, std::uint64_t now_ns);

 private:
  struct Bucket {
    std::uint64_t hash = 0;
    std::uint64_t updated_ns = 0;
    double tokens = 0;
    bool used = false;
  };
  static bool take(Bucket& bucket, double burst, double per_second, std::uint64_t now_ns);

  Limits limits_;
  std::vector<Bucket> slots_;
  Bucket total_;
};

}  // namespace execmond

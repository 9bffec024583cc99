// SPDX-License-Identifier: Apache-2.0
#include "binaries/log_rate_limiter.h"

#include <algorithm>
#include <functional>

namespace execmond {

LogRateLimiter::LogRateLimiter(const Limits& limits) : limits_(limits), slots_(kSlots) {
  total_.tokens = limits.total_burst;
  total_.used = true;
}

bool LogRateLimiter::take(Bucket& bucket, double burst, double per_second, std::uint64_t now_ns) {
  if (now_ns > bucket.updated_ns) {
    const double refill = static_cast<double>(now_ns - bucket.updated_ns) * 1e-9 * per_second;
    bucket.tokens = std::min(burst, bucket.tokens + refill);
  }
  bucket.updated_ns = std::max(bucket.updated_ns, now_ns);
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

bool LogRateLimiter::admit(std::string_view path, std::uint64_t now_ns) {
  if (total_.updated_ns == 0) total_.updated_ns = now_ns;
  const std::uint64_t hash = std::hash<std::string_view>{}(path);
  Bucket& slot = slots_[hash % kSlots];
  if (!slot.used || slot.hash != hash) slot = Bucket{hash, now_ns, limits_.per_path_burst, true};
  // The path's own budget first: a path over it does not use up the others'.
  if (!take(slot, limits_.per_path_burst, limits_.per_path_per_second, now_ns)) return false;
  return take(total_, limits_.total_burst, limits_.total_per_second, now_ns);
}

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// Histogram buckets of execmond_process_duration_seconds.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace execmond::duration_buckets {

// The `le` bounds of execmond_process_duration_seconds: a contract with dashboards.
// histogram_quantile() over a range that spans a change of bounds is wrong, so add
// bounds only with a release note. From a millisecond (a shell helper) to a day (a
// service restarted daily); longer lifetimes land in +Inf, which is implicit here.
inline constexpr std::array<double, 16> kUpperBoundsSeconds = {
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400};

// The same bounds in the unit of the kernel's timestamps, for the hot path.
inline constexpr std::array<std::uint64_t, 16> kUpperBoundsNs = {
    1'000'000,       5'000'000,         10'000'000,         50'000'000,
    100'000'000,     500'000'000,       1'000'000'000,      5'000'000'000,
    10'000'000'000,  30'000'000'000,    60'000'000'000,     300'000'000'000,
    900'000'000'000, 3'600'000'000'000, 14'400'000'000'000, 86'400'000'000'000};

// Buckets counted per process name: one per bound, then +Inf.
inline constexpr std::size_t kBucketCount = kUpperBoundsNs.size() + 1;
inline constexpr std::size_t kInfBucket = kBucketCount - 1;

// The bucket a lifetime falls in: the first whose bound it does not exceed (Prometheus'
// `le` is <=), or +Inf. Counting the bounds it exceeds needs no branch.
constexpr std::size_t bucket_index(std::uint64_t lifetime_ns) {
  std::size_t index = 0;
  for (std::uint64_t bound : kUpperBoundsNs) index += lifetime_ns > bound ? 1 : 0;
  return index;
}

namespace detail {
// n / 1e9 is correctly rounded, so it equals the literal exactly when both name the same
// number.
constexpr bool bounds_agree() {
  for (std::size_t i = 0; i < kUpperBoundsNs.size(); ++i) {
    if (static_cast<double>(kUpperBoundsNs[i]) / 1e9 != kUpperBoundsSeconds[i]) return false;
    if (i > 0 && kUpperBoundsNs[i] <= kUpperBoundsNs[i - 1]) return false;
  }
  return true;
}
}  // namespace detail
static_assert(detail::bounds_agree(), "the ns bounds must be the seconds bounds, ascending");

}  // namespace execmond::duration_buckets

// The native (exponential) histogram of execmond_process_duration_seconds, served in the
// protobuf exposition next to the classic buckets of duration_buckets.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace execmond::native_buckets {

// Schema 1: each power of two split in two, so a bucket spans a factor of 1.41 and a
// quantile read from it is within 19 % of the truth; the classic buckets are a factor of
// 2 to 5 apart. Finer schemas cost 8 bytes per bucket per series, allocated for every
// series: 90 buckets here (720 bytes), 180 at schema 2.
inline constexpr int kSchema = 1;
// The zero bucket holds lifetimes up to 2^-17 s (7.6 µs): shorter than the cheapest exec
// and exit. The last bucket ends at 2^28 s (8.5 years), longer than any host's uptime,
// so a lifetime beyond it (which cannot happen) is counted there rather than lost.
inline constexpr int kMinExponent = -17;
inline constexpr int kMaxExponent = 28;
inline constexpr double kZeroThreshold = 0x1p-17;

// Bucket i holds (2^((i-1)/2), 2^(i/2)] seconds.
inline constexpr std::int32_t kFirstIndex = kMinExponent * (1 << kSchema) + 1;
inline constexpr std::int32_t kLastIndex = kMaxExponent * (1 << kSchema);
inline constexpr std::size_t kBucketCount = kLastIndex - kFirstIndex + 1;
// Counted per series: the zero bucket (slot 0), then bucket kFirstIndex + slot - 1.
inline constexpr std::size_t kSlots = kBucketCount + 1;

// The significand bits of 2 x 0.7071067811865475, the bound between the two buckets of
// a power of two in Prometheus' own tables (client_golang's nativeHistogramBounds[1]).
inline constexpr std::uint64_t kHalfwaySignificand = 0x6a09e667f3bccULL;
inline constexpr std::uint64_t kSignificandMask = (std::uint64_t{1} << 52) - 1;

// The slot a lifetime counts in, on the hot path: no call, no loop. As client_golang
// does it: the value is a fraction in [0.5, 1) times a power of two, and the fraction is
// placed among the schema's bounds; the same constants, so a value on a bound lands
// where Prometheus expects it. Read here from the bits of the double (a normal number:
// it exceeds the zero threshold), where fraction = 1.significand / 2.
inline std::size_t slot(std::uint64_t lifetime_ns) {
  const double seconds = static_cast<double>(lifetime_ns) / 1e9;  // correctly rounded
  if (seconds <= kZeroThreshold) return 0;
  std::uint64_t bits;
  std::memcpy(&bits, &seconds, sizeof bits);
  const auto exponent = static_cast<std::int32_t>(bits >> 52) - 1022;  // frexp's
  const std::uint64_t significand = bits & kSignificandMask;
  const std::int32_t within = significand == 0 ? 0 : significand <= kHalfwaySignificand ? 1 : 2;
  std::int32_t index = within + (exponent - 1) * (1 << kSchema);
  if (index > kLastIndex) index = kLastIndex;
  return static_cast<std::size_t>(index - kFirstIndex) + 1;
}

}  // namespace execmond::native_buckets

// SPDX-License-Identifier: Apache-2.0
// One version of one file, as the kernel names it: the superblock's device, the inode
// and its change time. The content is a function of it (bar the coarse-tick caveat of
// DESIGN-identity.md, "Versions of a file", which kContentSettleNs closes).
#pragma once

#include <cstdint>
#include <functional>

namespace execmond {

struct FileVersion {
  std::uint32_t dev = 0;  // the kernel's encoding: major << 20 | minor
  std::uint64_t ino = 0;
  std::uint64_t ctime_ns = 0;

  bool operator==(const FileVersion& other) const {
    return dev == other.dev && ino == other.ino && ctime_ns == other.ctime_ns;
  }
  bool operator!=(const FileVersion& other) const { return !(*this == other); }
};

// A version changed less than this before it was looked at may still change within the
// same timestamp tick without a new ctime: judged (hashed), never cached. More than any
// HZ's tick.
inline constexpr std::uint64_t kContentSettleNs = 20'000'000;

inline constexpr std::uint32_t kernel_device_number(unsigned major, unsigned minor) {
  return static_cast<std::uint32_t>(major) << 20 | (minor & 0xfffff);
}

struct FileVersionHash {
  std::size_t operator()(const FileVersion& v) const {
    std::uint64_t h = v.ino * 0x9e3779b97f4a7c15ULL;
    h ^= (v.ctime_ns + 0x7f4a7c15ULL + (h << 6) + (h >> 2));
    h ^= (static_cast<std::uint64_t>(v.dev) + (h << 6) + (h >> 2));
    return static_cast<std::size_t>(h);
  }
};

}  // namespace execmond

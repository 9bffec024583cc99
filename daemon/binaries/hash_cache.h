// SPDX-License-Identifier: Apache-2.0
// Digests already computed, per file version: a version is read once, however often and
// under however many names (hard links, bind mounts, views) it runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "binaries/content_digest.h"
#include "binaries/file_version.h"

namespace execmond {

// Bounded: past `capacity` the least recently used version is forgotten (it is hashed
// again if it runs again). Thread-safe: the worker writes, the reader looks up, once per
// new identity each, never per exec.
class HashCache {
 public:
  static constexpr std::size_t kDefaultCapacity = 8192;
  explicit HashCache(std::size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  std::optional<ContentDigest> find(const FileVersion& version);
  // `started_ns` (CLOCK_REALTIME, the ctime's clock): when the read began. A version
  // whose ctime is not older than that by kContentSettleNs may still change within its
  // timestamp tick: not kept. Returns whether it was kept.
  bool insert(const FileVersion& version, const ContentDigest& digest, std::uint64_t started_ns);
  void clear();
  std::size_t size() const;

 private:
  struct Entry {
    FileVersion version;
    ContentDigest digest;
  };
  using Order = std::list<Entry>;  // most recent first

  std::size_t capacity_;
  mutable std::mutex mutex_;
  Order order_;
  std::unordered_map<FileVersion, Order::iterator, FileVersionHash> index_;
};

// Pure: may a digest read from `started_ns` on be kept for `version`?
inline bool settled(const FileVersion& version, std::uint64_t started_ns) {
  return version.ctime_ns + kContentSettleNs <= started_ns;
}

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
#include "binaries/hash_cache.h"

namespace execmond {

std::optional<ContentDigest> HashCache::find(const FileVersion& version) {
  const std::lock_guard lock(mutex_);
  const auto found = index_.find(version);
  if (found == index_.end()) return std::nullopt;
  order_.splice(order_.begin(), order_, found->second);
  return found->second->digest;
}

bool HashCache::insert(const FileVersion& version, const ContentDigest& digest,
                       std::uint64_t started_ns) {
  if (!settled(version, started_ns) || capacity_ == 0) return false;
  const std::lock_guard lock(mutex_);
  if (const auto found = index_.find(version); found != index_.end()) {
    found->second->digest = digest;
    order_.splice(order_.begin(), order_, found->second);
    return true;
  }
  if (index_.size() >= capacity_) {
    index_.erase(order_.back().version);
    order_.pop_back();
  }
  order_.push_front(Entry{version, digest});
  index_.emplace(version, order_.begin());
  return true;
}

void HashCache::clear() {
  const std::lock_guard lock(mutex_);
  index_.clear();
  order_.clear();
}

std::size_t HashCache::size() const {
  const std::lock_guard lock(mutex_);
  return index_.size();
}

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// The daemon's own verdicts, keyed as the kernel's are (identity and view): what an exec
// the kernel flags UNEXPECTED or PENDING is counted and logged as, with no path walk, and
// what a script's interpreter was judged to be. Bounded; the least recently used entry
// is evicted, after the kernel's copy of it is erased (an UNEXPECTED exec whose entry is
// gone anyway is still counted, as path="execmond_evicted").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "binaries/judging_view.h"
#include "binaries/log_budget.h"
#include "binaries/unexpected_reason.h"
#include "events/records.h"
#include "metrics/unexpected_binary_metrics.h"

namespace execmond {

struct CachedVerdict {
  execmond_binary_id key{};
  bool allowed = false;
  bool in_kernel = false;  // written to the kernel's map: eviction erases it there first
  bool loader = false;   // a dynamic loader: the kernel holds LOADER (`allowed` is the file's own)
  bool pending = false;  // waiting for the content judge
  UnexpectedReason reason = UnexpectedReason::kNotAllowed;
  JudgingView view = JudgingView::kHost;
  std::string path;    // the name it was judged by (empty when allowed and not a loader)
  std::string sha256;  // its content, lowercase hex, once known (issue 14)
  // The hot path's memory: the series of the last process name this file ran as, and
  // the file's own log budget.
  CommName comm;
  std::uint64_t cgroup_id = 0;  // with the container label: the series is the cgroup's too
  UnexpectedBinaryMetrics::Series series;
  bool series_known = false;
  TokenBucket log_bucket;
  bool referenced = false;  // the clock's second chance
};

inline bool same_key(const execmond_binary_id& a, const execmond_binary_id& b) {
  return a.ino == b.ino && a.ctime_ns == b.ctime_ns && a.dev == b.dev && a.view == b.view;
}

class VerdictCache {
 public:
  // The kernel's map holds 16384; so does this.
  static constexpr std::size_t kCapacity = 16384;

  explicit VerdictCache(std::size_t capacity = kCapacity);

  // Reader thread. The hot path: a hash and a probe, no allocation.
  CachedVerdict* find(const execmond_binary_id& key);
  // A fresh entry for `key` (replacing one it had). When the cache is full, the least
  // recently used entry is handed to `evict` and then dropped.
  CachedVerdict& insert(const execmond_binary_id& key,
                        const std::function<void(const CachedVerdict&)>& evict);
  void erase(const execmond_binary_id& key);
  void clear();
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return entries_.size(); }

 private:
  static constexpr std::uint32_t kEmpty = UINT32_MAX;
  std::size_t home(const execmond_binary_id& key) const;
  std::size_t slot_of(const execmond_binary_id& key) const;  // index slot, or the empty one
  void remove_at(std::size_t slot);
  std::uint32_t victim();

  std::vector<CachedVerdict> entries_;
  std::vector<bool> live_;
  std::vector<std::uint32_t> free_;
  std::vector<std::uint32_t> index_;  // open addressing, linear probing, at most half full
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::size_t hand_ = 0;
};

}  // namespace execmond

// From the cgroup id in a record to the unit and container that a person recognises.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cgroups/cgroup_watcher.h"
#include "cgroups/interned_names.h"
#include "service/file_descriptor.h"

namespace execmond {

struct CgroupLabels {
  const InternedName* unit = nullptr;
  const InternedName* container = nullptr;
};

// Resolves cgroup v2 ids (a cgroup directory's inode number) by walking the unified
// hierarchy, on the ring buffer reader's thread.
//
// - A known id is one probe of a table allocated whole at start: no allocation, lock or
//   system call.
// - An unknown id starts a walk of the hierarchy, or continues the one under way. Walks
//   spend a budget of time refilled every second (a token bucket): a burst of thousands
//   of new cgroups costs the reader at most that share of each second, never a stall.
//   A walk visits at most max_cgroups directories.
// - Entries of cgroups that a complete walk no longer finds are aged out after a second
//   such walk (a late record of a removed cgroup still resolves for a while).
// - A CgroupWatcher, when inotify is available, reports cgroups as they are made: one
//   removed before the walks could see it still resolves from that report.
// - An id the walks cannot resolve in time (the budget was spent, the cgroup was already
//   removed, the table is full) resolves to kUnresolvedUnit / kUnresolvedContainer. An
//   id that a walk started after its first miss did not find is gone for good (ids are
//   never reused) and starts no further walk.
// - Label values are shared by the cgroups that have them. A value no event was labelled
//   with is forgotten with the last of its cgroups (interned_names.h), so a burst of
//   cgroups with long names, made and removed, leaves nothing behind.
class CgroupResolver {
 public:
  struct Limits {
    std::size_t max_cgroups = 8192;  // ids cached, and directories a walk visits
    std::chrono::nanoseconds walk_time_per_second = std::chrono::milliseconds(50);
    std::size_t max_units = 4096;       // distinct unit label values
    std::size_t max_containers = 4096;  // distinct container label values
    // Watch for new cgroups with inotify (cgroup_watcher.h), so that cgroups gone before
    // their records are read still resolve.
    bool watch_new_cgroups = true;
  };
  using Clock = std::function<std::chrono::nanoseconds()>;  // monotonic

  // `hierarchy` is the unified hierarchy's mount point (see unified_hierarchy.h); empty
  // for none, and then every id is unresolved. Throws std::system_error if it cannot
  // be opened.
  CgroupResolver(const std::string& hierarchy, const Limits& limits, Clock clock = {});
  ~CgroupResolver();
  CgroupResolver(const CgroupResolver&) = delete;
  CgroupResolver& operator=(const CgroupResolver&) = delete;

  // Reader thread.
  CgroupLabels labels_for(std::uint64_t cgroup_id);

  // Any thread.
  std::uint64_t walks_started() const {
    return walks_started_count_.load(std::memory_order_relaxed);
  }
  std::uint64_t walks_completed() const { return walks_completed_.load(std::memory_order_relaxed); }
  std::uint64_t directories_visited() const {
    return directories_visited_.load(std::memory_order_relaxed);
  }
  std::uint64_t unresolved_events() const {
    return unresolved_events_.load(std::memory_order_relaxed);
  }
  std::size_t cached_cgroups() const { return cached_.load(std::memory_order_relaxed); }
  // Reader thread: distinct unit label values held (by cached cgroups or, for good, by
  // the events labelled with them).
  std::size_t unit_names() const { return units_.size(); }
  // Whether new cgroups are watched for (false: no inotify, or limits said not to).
  bool watching() const { return watcher_ != nullptr; }

 private:
  struct Entry {
    std::uint64_t id = 0;  // 0: empty (no cgroup has id 0)
    const InternedName* unit = nullptr;
    const InternedName* container = nullptr;
    std::uint64_t last_seen_walk = 0;
  };
  struct Miss {
    std::uint64_t id = 0;
    std::uint64_t walk = 0;  // the last walk started when the id was first missed
  };

  Entry* find(std::uint64_t id);
  CgroupLabels used(const Entry& entry);
  std::size_t home(std::uint64_t id) const;
  CgroupLabels resolve_unknown(std::uint64_t id);
  void take_created();
  bool walk_within_budget();
  CgroupLabels unresolved();
  bool spend_budget();
  void start_walk();
  void end_walk();
  void walk_step();
  void visit(const std::string& path);
  void record(std::uint64_t id, const std::string& path);
  void erase_at(std::size_t slot);
  void age_out();

  const Limits limits_;
  const Clock clock_;
  FileDescriptor root_;
  InternedNames units_;
  InternedNames containers_;
  const InternedName unresolved_unit_;
  const InternedName unresolved_container_;
  std::size_t index_mask_ = 0;
  std::unique_ptr<Entry[]> entries_;
  std::size_t size_ = 0;
  std::unique_ptr<Miss[]> misses_;  // [kMisses], direct-mapped, newer replaces older
  std::unique_ptr<CgroupWatcher> watcher_;
  std::vector<CgroupWatcher::Created> created_;  // reused by take_created()

  // The walk: breadth first, resumable, so that the budget can cut it anywhere.
  std::vector<std::string> pending_;  // directories still to read, relative to root_
  std::size_t next_pending_ = 0;
  std::size_t walk_directories_ = 0;  // directories queued by this walk
  bool walk_truncated_ = false;
  std::uint64_t walks_started_ = 0;
  std::uint64_t last_walk_completed_ = 0;  // the number of the last walk that ended

  std::chrono::nanoseconds budget_;  // token bucket: walk time still allowed
  std::chrono::nanoseconds budget_refilled_at_{0};

  std::atomic<std::uint64_t> walks_started_count_{0};
  std::atomic<std::uint64_t> walks_completed_{0};
  std::atomic<std::uint64_t> directories_visited_{0};
  std::atomic<std::uint64_t> unresolved_events_{0};
  std::atomic<std::size_t> cached_{0};
};

}  // namespace execmond

#include "cgroups/cgroup_resolver.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "cgroups/cgroup_names.h"

namespace execmond {
namespace {

constexpr std::size_t kMisses = 1024;  // a power of two
// Directories read between two looks at the clock.
constexpr std::size_t kDirectoriesPerStep = 8;
// The longest labels: a unit is one cgroup directory's name (at most 255 bytes, each
// escaped to at most 4), after a user manager's own ("user@UID.service/"); a container
// label is a runtime and 12 hexadecimal digits.
constexpr std::size_t kMaxUnitLabelBytes = 2 * 4 * 255 + 1;
constexpr std::size_t kMaxContainerLabelBytes = 64;
// Cgroups the watcher may report between two lookups that miss.
constexpr std::size_t kMaxPendingCreated = 4096;

std::chrono::nanoseconds steady_now() {
  return std::chrono::steady_clock::now().time_since_epoch();
}

struct DirectoryCloser {
  void operator()(DIR* directory) const { ::closedir(directory); }
};

}  // namespace

CgroupResolver::CgroupResolver(const std::string& hierarchy, const Limits& limits, Clock clock)
    : limits_(limits),
      clock_(clock ? std::move(clock) : Clock(steady_now)),
      units_(limits.max_units, kMaxUnitLabelBytes, "execmond_overflow"),
      containers_(limits.max_containers, kMaxContainerLabelBytes, "execmond_overflow"),
      unresolved_unit_{kUnresolvedUnit},
      unresolved_container_{kUnresolvedContainer},
      misses_(std::make_unique<Miss[]>(kMisses)),
      budget_(limits.walk_time_per_second) {
  std::size_t slots = 16;
  while (slots < 2 * limits_.max_cgroups) slots *= 2;  // at most half full
  index_mask_ = slots - 1;
  entries_ = std::make_unique<Entry[]>(slots);
  budget_refilled_at_ = clock_();
  if (hierarchy.empty()) return;  // no hierarchy: every id is unresolved
  root_ = FileDescriptor(::open(hierarchy.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot open the cgroup hierarchy " + hierarchy);
  }
  if (limits_.watch_new_cgroups) {
    try {
      watcher_ =
          std::make_unique<CgroupWatcher>(hierarchy, limits_.max_cgroups, kMaxPendingCreated);
    } catch (const std::system_error&) {
      // No inotify here: the walks alone resolve what still exists when its record is read.
    }
  }
}

CgroupResolver::~CgroupResolver() = default;

// Ids are sequential: a multiplicative hash spreads neighbours over the table.
std::size_t CgroupResolver::home(std::uint64_t id) const {
  return static_cast<std::size_t>((id * 0x9e3779b97f4a7c15ull) >> 17) & index_mask_;
}

CgroupResolver::Entry* CgroupResolver::find(std::uint64_t id) {
  for (std::size_t i = home(id);; i = (i + 1) & index_mask_) {
    Entry& entry = entries_[i];
    if (entry.id == id) return &entry;
    if (entry.id == 0) return nullptr;
  }
}

CgroupLabels CgroupResolver::labels_for(std::uint64_t cgroup_id) {
  if (cgroup_id != 0) {
    if (const Entry* entry = find(cgroup_id)) return used(*entry);
  }
  return resolve_unknown(cgroup_id);
}

// An event is labelled with the entry's names: from now on a series may hold them.
CgroupLabels CgroupResolver::used(const Entry& entry) {
  units_.pin(entry.unit);
  containers_.pin(entry.container);
  return {entry.unit, entry.container};
}

CgroupLabels CgroupResolver::unresolved() {
  unresolved_events_.store(unresolved_events_.load(std::memory_order_relaxed) + 1,
                           std::memory_order_relaxed);
  return {&unresolved_unit_, &unresolved_container_};
}

CgroupLabels CgroupResolver::resolve_unknown(std::uint64_t id) {
  if (id == 0 || !root_) return unresolved();  // a record without an id, or no hierarchy
  if (watcher_) {
    // The watcher reports cgroups that have gone since; only walks age them out. With the
    // table three quarters full, walk (within the budget) before taking more: two
    // complete walks retire what neither saw.
    for (int walks = 0; walks < 2 && 4 * size_ >= 3 * limits_.max_cgroups; ++walks) {
      if (!walk_within_budget()) break;
    }
    take_created();
    if (const Entry* entry = find(id)) return used(*entry);
  }
  Miss& miss = misses_[home(id) & (kMisses - 1)];
  const bool missed_before = miss.id == id;
  // Walks numbered above this one started after the id was first missed.
  const std::uint64_t first_miss_walk = missed_before ? miss.walk : walks_started_;
  // A walk that started after the first miss did not find it: the cgroup is gone.
  if (last_walk_completed_ > first_miss_walk) return unresolved();
  while (spend_budget()) {
    if (next_pending_ == pending_.size()) start_walk();
    const std::chrono::nanoseconds started = clock_();
    walk_step();
    budget_ -= clock_() - started;
    if (next_pending_ == pending_.size()) end_walk();
    if (const Entry* entry = find(id)) return used(*entry);
    // The walk under way may have passed the cgroup's parent before the cgroup existed;
    // one started since cannot have.
    if (last_walk_completed_ > first_miss_walk) break;
  }
  if (!missed_before) miss = {id, first_miss_walk};
  return unresolved();
}

// The whole hierarchy from its root, breadth first.
void CgroupResolver::start_walk() {
  ++walks_started_;
  walks_started_count_.store(walks_started_, std::memory_order_relaxed);
  pending_.assign(1, std::string());
  next_pending_ = 0;
  walk_directories_ = 1;
  walk_truncated_ = false;
  struct stat root_stat {};
  if (::fstat(root_.get(), &root_stat) == 0) record(root_stat.st_ino, "/");
}

void CgroupResolver::end_walk() {
  last_walk_completed_ = walks_started_;
  walks_completed_.store(walks_completed_.load(std::memory_order_relaxed) + 1,
                         std::memory_order_relaxed);
  if (!walk_truncated_) age_out();
  pending_.clear();
  pending_.shrink_to_fit();
  next_pending_ = 0;
}

// Continues or starts a walk; true if it ended within the budget.
bool CgroupResolver::walk_within_budget() {
  while (spend_budget()) {
    if (next_pending_ == pending_.size()) start_walk();
    const std::chrono::nanoseconds started = clock_();
    walk_step();
    budget_ -= clock_() - started;
    if (next_pending_ == pending_.size()) {
      end_walk();
      return true;
    }
  }
  return false;
}

// What the watcher saw made since the last miss; most ids that miss are among them.
void CgroupResolver::take_created() {
  created_.clear();
  watcher_->take(created_);
  for (const CgroupWatcher::Created& created : created_) record(created.id, created.path);
}

// Refills the token bucket for the time elapsed; true while walk time is left.
bool CgroupResolver::spend_budget() {
  const std::chrono::nanoseconds now = clock_();
  const std::chrono::nanoseconds per_second = limits_.walk_time_per_second;
  const auto elapsed = std::max(now - budget_refilled_at_, std::chrono::nanoseconds(0));
  budget_refilled_at_ = now;
  // elapsed * per_second / 1 s, in floating point: elapsed may be hours.
  const double refill =
      static_cast<double>(elapsed.count()) * 1e-9 * static_cast<double>(per_second.count());
  budget_ =
      std::min(per_second, budget_ + std::chrono::nanoseconds(static_cast<std::int64_t>(std::min(
                                         refill, static_cast<double>(per_second.count())))));
  return budget_.count() > 0;
}

void CgroupResolver::walk_step() {
  for (std::size_t i = 0; i < kDirectoriesPerStep && next_pending_ < pending_.size(); ++i) {
    // Moved out: visit() may grow pending_.
    const std::string path = std::move(pending_[next_pending_++]);
    visit(path);
  }
}

// Reads one directory: each subdirectory is a cgroup whose id is its inode number.
void CgroupResolver::visit(const std::string& path) {
  directories_visited_.store(directories_visited_.load(std::memory_order_relaxed) + 1,
                             std::memory_order_relaxed);
  const int fd =
      ::openat(root_.get(), path.empty() ? "." : path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // removed since it was listed
  const std::unique_ptr<DIR, DirectoryCloser> directory(::fdopendir(fd));
  if (!directory) {
    ::close(fd);
    return;
  }
  while (const dirent* item = ::readdir(directory.get())) {
    if (item->d_type != DT_DIR) continue;  // cgroupfs and kernfs fill d_type
    if (std::strcmp(item->d_name, ".") == 0 || std::strcmp(item->d_name, "..") == 0) continue;
    std::string child = path.empty() ? std::string(item->d_name) : path + "/" + item->d_name;
    record(item->d_ino, "/" + child);
    if (walk_directories_ < limits_.max_cgroups) {
      ++walk_directories_;
      pending_.push_back(std::move(child));
    } else {
      walk_truncated_ = true;
    }
  }
}

// The walk saw cgroup `id` at `path` (relative to the hierarchy, with a leading '/').
void CgroupResolver::record(std::uint64_t id, const std::string& path) {
  if (id == 0) return;
  for (std::size_t i = home(id);; i = (i + 1) & index_mask_) {
    Entry& entry = entries_[i];
    if (entry.id == id) {
      entry.last_seen_walk = walks_started_;
      return;
    }
    if (entry.id != 0) continue;
    if (size_ == limits_.max_cgroups) return;  // full: resolved again once aged out
    entry = {id, units_.acquire(unit_label(path)), containers_.acquire(container_label(path)),
             walks_started_};
    ++size_;
    cached_.store(size_, std::memory_order_relaxed);
    return;
  }
}

// Linear probing without tombstones: the entries after the hole that would no longer be
// reachable from their home move back into it.
void CgroupResolver::erase_at(std::size_t hole) {
  units_.release(entries_[hole].unit);  // forgotten if no event used it and no cgroup has it
  containers_.release(entries_[hole].container);
  for (std::size_t next = (hole + 1) & index_mask_; entries_[next].id != 0;
       next = (next + 1) & index_mask_) {
    const std::size_t wanted = home(entries_[next].id);
    // Does the probe from `wanted` to `next` pass the hole? (cyclically)
    const bool passes_hole =
        hole <= next ? (wanted <= hole || wanted > next) : (wanted <= hole && wanted > next);
    if (passes_hole) {
      entries_[hole] = entries_[next];
      hole = next;
    }
  }
  entries_[hole] = Entry{};
  --size_;
  cached_.store(size_, std::memory_order_relaxed);
}

// After a complete walk: cgroups missing from it and from the walk before are gone.
void CgroupResolver::age_out() {
  for (std::size_t slot = 0; slot <= index_mask_;) {
    const Entry& entry = entries_[slot];
    if (entry.id != 0 && entry.last_seen_walk + 1 < walks_started_) {
      erase_at(slot);  // may move another entry here: look at this slot again
    } else {
      ++slot;
    }
  }
}

}  // namespace execmond

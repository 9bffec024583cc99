// SPDX-License-Identifier: Apache-2.0
// Keeps the host's package database loaded and current: loaded off the reader thread at
// start, reloaded when the package manager changes it (inotify on its directories,
// after it has been quiet for a second and is no longer running), so that an upgrade
// is picked up without a restart.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "binaries/package_database.h"
#include "binaries/package_index.h"
#include "service/file_descriptor.h"

namespace execmond {

class PackageWatcher {
 public:
  // A reload waits until the database has been quiet this long (dpkg writes many
  // files per package) and the package manager is done.
  static constexpr std::chrono::milliseconds kQuiet{1000};
  // How often the watcher looks again while something waits (holds, a reload).
  static constexpr std::chrono::milliseconds kTick{1000};
  // A change is loaded after this long even if the package manager still looks busy: an
  // interrupted dpkg leaves its journal (/var/lib/dpkg/updates) until `dpkg --configure
  // -a`, and the database must not stay stale meanwhile.
  static constexpr std::chrono::minutes kMaxReloadDelay{5};

  struct Snapshot {
    std::shared_ptr<const PackageIndex> index;     // null: none loaded (yet, or at all)
    std::shared_ptr<const PackageIndex> previous;  // the one before the last reload
    bool loading = false;                          // the first load has not finished
    bool busy = false;  // the package manager runs, or a change awaits a reload
    std::uint64_t generation = 0;
    std::chrono::steady_clock::time_point loaded_at{};  // of `index`
  };
  struct Stats {
    std::uint64_t loads = 0;
    std::uint64_t failures = 0;
    PackageDatabase::LoadStats last;
  };

  // `root_fd` is duplicated. The first of `databases` present under the root is used;
  // none: no index, ever (logged once). `changed` runs on the watcher's thread after
  // each load, and every kTick while the package manager is busy: post it on.
  PackageWatcher(int root_fd, std::vector<std::unique_ptr<PackageDatabase>> databases,
                 std::function<void()> changed);
  ~PackageWatcher();
  PackageWatcher(const PackageWatcher&) = delete;
  PackageWatcher& operator=(const PackageWatcher&) = delete;

  // Any thread.
  Snapshot snapshot() const;
  Stats stats() const;
  // The package manager's own answer, now (a system call or two).
  bool busy_now() const;
  std::string manager() const;

 private:
  void run();
  bool watch(const std::string& directory);
  bool drain_events();
  void load();

  FileDescriptor root_;
  std::vector<std::unique_ptr<PackageDatabase>> databases_;
  PackageDatabase* database_ = nullptr;
  std::function<void()> changed_;
  FileDescriptor inotify_;
  FileDescriptor stop_;  // eventfd

  mutable std::mutex mutex_;
  Snapshot snapshot_;
  Stats stats_;
  bool dirty_ = false;
  std::chrono::steady_clock::time_point first_change_{};  // of the changes not loaded yet
  std::chrono::steady_clock::time_point last_change_{};
  std::thread thread_;
};

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// Learns of new cgroups the moment they are made, before their processes run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "service/file_descriptor.h"

namespace execmond {

// A cgroup made and removed between two drains of the ring buffer (a transient unit
// that runs one short command) is gone before the resolver sees its id, and no walk can
// find it. This watcher holds an inotify watch (IN_CREATE) on every directory of the
// hierarchy, on a thread of its own: when a cgroup directory is made it reads its id
// (inode number) at once and keeps (id, path) until the resolver takes it.
//
// Bounded: at most max_watches directories are watched (more are left to the walks),
// and at most max_pending cgroups wait to be taken (the oldest are dropped).
class CgroupWatcher {
 public:
  struct Created {
    std::uint64_t id;
    std::string path;  // relative to the hierarchy, with a leading '/'
  };

  // Watches the hierarchy's directories before it returns; throws std::system_error
  // when inotify is not available.
  CgroupWatcher(const std::string& hierarchy, std::size_t max_watches, std::size_t max_pending);
  // Stops the thread.
  ~CgroupWatcher();
  CgroupWatcher(const CgroupWatcher&) = delete;
  CgroupWatcher& operator=(const CgroupWatcher&) = delete;

  // Any thread: appends the cgroups made since the last call to `out`.
  void take(std::vector<Created>& out);

 private:
  void run();
  void handle_events();
  // Watches `relative` and the directories below it (within the bound); each found
  // after the first is reported as created, since it may have been made before its
  // parent was watched.
  void watch_tree(const std::string& relative, bool report);
  bool watch(const std::string& relative);
  void report(std::uint64_t id, const std::string& relative);

  const std::string hierarchy_;
  const std::size_t max_watches_;
  const std::size_t max_pending_;
  FileDescriptor inotify_;
  FileDescriptor stop_;                           // eventfd
  std::unordered_map<int, std::string> watched_;  // watch descriptor -> relative path
  std::mutex mutex_;                              // guards pending_
  std::deque<Created> pending_;
  std::thread thread_;
};

}  // namespace execmond

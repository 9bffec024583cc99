// SPDX-License-Identifier: Apache-2.0
#include "cgroups/cgroup_watcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <system_error>
#include <utility>

namespace execmond {
namespace {

struct DirectoryCloser {
  void operator()(DIR* directory) const { ::closedir(directory); }
};

std::string child_of(const std::string& relative, const char* name) {
  return relative.empty() ? std::string(name) : relative + "/" + name;
}

}  // namespace

CgroupWatcher::CgroupWatcher(const std::string& hierarchy, std::size_t max_watches,
                             std::size_t max_pending)
    : hierarchy_(hierarchy),
      max_watches_(max_watches),
      max_pending_(max_pending),
      inotify_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)),
      stop_(::eventfd(0, EFD_CLOEXEC)) {
  if (!inotify_ || !stop_) {
    throw std::system_error(errno, std::generic_category(), "cannot watch for new cgroups");
  }
  watch_tree("", false);
  if (watched_.empty()) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot watch the cgroup hierarchy " + hierarchy_);
  }
  thread_ = std::thread([this] { run(); });
}

CgroupWatcher::~CgroupWatcher() {
  const std::uint64_t one = 1;
  if (::write(stop_.get(), &one, sizeof one) < 0) {
    // Cannot happen for an eventfd below its maximum; the join would hang otherwise.
    std::terminate();
  }
  thread_.join();
}

void CgroupWatcher::take(std::vector<Created>& out) {
  const std::lock_guard<std::mutex> lock(mutex_);
  for (Created& created : pending_) out.push_back(std::move(created));
  pending_.clear();
}

void CgroupWatcher::run() {
  pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
  while (true) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents != 0) handle_events();
  }
}

void CgroupWatcher::handle_events() {
  alignas(inotify_event) char buffer[16 * 1024];
  while (true) {
    const ssize_t length = ::read(inotify_.get(), buffer, sizeof buffer);
    if (length <= 0) return;  // EAGAIN: all read
    for (ssize_t at = 0; at < length;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if (event->mask & IN_IGNORED) {  // the directory is gone
        watched_.erase(event->wd);
        continue;
      }
      if (!(event->mask & IN_CREATE) || !(event->mask & IN_ISDIR) || event->len == 0) continue;
      const auto parent = watched_.find(event->wd);
      if (parent == watched_.end()) continue;
      const std::string relative = child_of(parent->second, event->name);
      struct stat made {};
      if (::stat((hierarchy_ + "/" + relative).c_str(), &made) != 0) continue;  // gone already
      report(made.st_ino, relative);
      watch_tree(relative, true);
    }
  }
}

bool CgroupWatcher::watch(const std::string& relative) {
  if (watched_.size() >= max_watches_) return false;
  const std::string path = relative.empty() ? hierarchy_ : hierarchy_ + "/" + relative;
  const int wd =
      ::inotify_add_watch(inotify_.get(), path.c_str(), IN_CREATE | IN_ONLYDIR | IN_EXCL_UNLINK);
  if (wd < 0) return false;  // gone, or out of watches: the walks cover it
  watched_[wd] = relative;
  return true;
}

void CgroupWatcher::watch_tree(const std::string& relative, bool report_children) {
  if (!watch(relative)) return;
  const std::string path = relative.empty() ? hierarchy_ : hierarchy_ + "/" + relative;
  const std::unique_ptr<DIR, DirectoryCloser> directory(::opendir(path.c_str()));
  if (!directory) return;
  std::vector<std::pair<std::string, std::uint64_t>> children;
  while (const dirent* item = ::readdir(directory.get())) {
    if (item->d_type != DT_DIR) continue;
    if (std::strcmp(item->d_name, ".") == 0 || std::strcmp(item->d_name, "..") == 0) continue;
    children.emplace_back(child_of(relative, item->d_name), item->d_ino);
  }
  for (const auto& [child, id] : children) {
    if (report_children) report(id, child);
    watch_tree(child, report_children);
  }
}

void CgroupWatcher::report(std::uint64_t id, const std::string& relative) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (pending_.size() == max_pending_) pending_.pop_front();
  pending_.push_back({id, "/" + relative});
}

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
#include "binaries/package_watcher.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "binaries/host_root.h"

namespace execmond {
namespace {

// What dpkg does to its files: writes "status-new" and renames it over "status",
// creates and removes journal entries, rewrites info/ files the same way.
constexpr std::uint32_t kEvents =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF;

}  // namespace

PackageWatcher::PackageWatcher(int root_fd, std::vector<std::unique_ptr<PackageDatabase>> databases,
                               std::function<void()> changed)
    : root_(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0)),
      databases_(std::move(databases)),
      changed_(std::move(changed)),
      inotify_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)),
      stop_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  int why = root_ ? 0 : errno;
  for (const auto& database : databases_) {
    errno = 0;
    if (root_ && database->present(root_.get())) {
      database_ = database.get();
      break;
    }
    if (errno != 0) why = errno;
  }
  if (database_ == nullptr) {
    spdlog::warn(
        "binaries: packaged: true, but this host has no package database execmond reads "
        "(dpkg's /var/lib/dpkg/info: {}): files are judged by the allow list alone",
        why != 0 ? std::strerror(why) : "not found");
    return;
  }
  snapshot_.loading = true;
  for (const std::string& directory : database_->watched_directories()) watch(directory);
  thread_ = std::thread([this] { run(); });
}

PackageWatcher::~PackageWatcher() {
  if (!thread_.joinable()) return;
  const std::uint64_t one = 1;
  if (::write(stop_.get(), &one, sizeof(one)) < 0) {
    // An eventfd write only fails when its counter would overflow: it is already set.
  }
  thread_.join();
}

bool PackageWatcher::watch(const std::string& directory) {
  const FileDescriptor fd(open_in_root(root_.get(), directory, O_PATH | O_DIRECTORY));
  if (!fd) return false;
  // inotify takes a path; this one names the directory found inside the host's root.
  const std::string path = "/proc/self/fd/" + std::to_string(fd.get());
  if (::inotify_add_watch(inotify_.get(), path.c_str(), kEvents) < 0) {
    spdlog::warn("binaries: cannot watch {} for package changes: {}", directory,
                 std::strerror(errno));
    return false;
  }
  return true;
}

PackageWatcher::Snapshot PackageWatcher::snapshot() const {
  const std::lock_guard lock(mutex_);
  return snapshot_;
}

PackageWatcher::Stats PackageWatcher::stats() const {
  const std::lock_guard lock(mutex_);
  return stats_;
}

bool PackageWatcher::busy_now() const {
  if (database_ == nullptr) return false;
  {
    const std::lock_guard lock(mutex_);
    if (dirty_ || snapshot_.loading) return true;
  }
  return database_->busy(root_.get());
}

std::string PackageWatcher::manager() const {
  return database_ == nullptr ? std::string() : std::string(database_->manager());
}

void PackageWatcher::load() {
  PackageDatabase::LoadStats stats;
  try {
    auto index = std::make_shared<const PackageIndex>(database_->load(root_.get(), stats));
    const auto summary = index->stats();
    spdlog::info(
        "binaries: {} database loaded: {} packages, {} files with checksums, {} files read "
        "({:.1f} MiB) in {} ms; the index holds {:.1f} MiB",
        database_->manager(), summary.packages, summary.files, stats.files_read,
        static_cast<double>(stats.bytes_read) / (1 << 20),
        std::chrono::duration_cast<std::chrono::milliseconds>(stats.duration).count(),
        static_cast<double>(summary.bytes) / (1 << 20));
    if (stats.malformed_lines > 0) {
      spdlog::warn("binaries: {} database: {} malformed lines skipped", database_->manager(),
                   stats.malformed_lines);
    }
    const std::lock_guard lock(mutex_);
    snapshot_.previous = std::move(snapshot_.index);
    snapshot_.index = std::move(index);
    snapshot_.loading = false;
    snapshot_.loaded_at = std::chrono::steady_clock::now();
    ++snapshot_.generation;
    ++stats_.loads;
    stats_.last = stats;
  } catch (const PackageDatabaseError& error) {
    spdlog::error("binaries: {} database unreadable, kept the last one: {}", database_->manager(),
                  error.what());
    const std::lock_guard lock(mutex_);
    snapshot_.loading = false;
    ++stats_.failures;
  }
}

bool PackageWatcher::drain_events() {
  alignas(inotify_event) char buffer[16384];
  bool any = false;
  for (;;) {
    const ssize_t got = ::read(inotify_.get(), buffer, sizeof(buffer));
    if (got <= 0) break;
    // Which file changed does not matter: any change of these directories is a change
    // of the database (a queue overflow, IN_Q_OVERFLOW, too).
    any = true;
  }
  return any;
}

void PackageWatcher::run() {
  load();
  changed_();
  for (;;) {
    bool waiting;
    {
      const std::lock_guard lock(mutex_);
      waiting = dirty_;
    }
    const bool busy = database_->busy(root_.get());
    pollfd fds[2] = {{stop_.get(), POLLIN, 0}, {inotify_.get(), POLLIN, 0}};
    const int timeout = waiting || busy ? static_cast<int>(kTick.count()) : -1;
    const int ready = ::poll(fds, 2, timeout);
    if (ready < 0 && errno != EINTR) {
      spdlog::error("binaries: package watcher stopped: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[0].revents != 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (fds[1].revents != 0 && drain_events()) {
      const std::lock_guard lock(mutex_);
      if (!dirty_) first_change_ = now;
      dirty_ = true;
      snapshot_.busy = true;
      last_change_ = now;
    }
    bool reload = false, overdue = false;
    {
      const std::lock_guard lock(mutex_);
      reload = dirty_ && now - last_change_ >= kQuiet;
      overdue = dirty_ && now - first_change_ >= kMaxReloadDelay;
    }
    const bool still_busy = database_->busy(root_.get());
    if (reload && (!still_busy || overdue)) {
      {
        const std::lock_guard lock(mutex_);
        dirty_ = false;
      }
      load();
    }
    {
      const std::lock_guard lock(mutex_);
      snapshot_.busy = dirty_ || still_busy;
    }
    // Every load, and every tick while something waits: held verdicts look again.
    if (reload || waiting || busy || still_busy) changed_();
  }
}

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
#include "binaries/hash_worker.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <utility>

namespace execmond {
namespace {

std::uint64_t clock_ns(clockid_t clock) {
  timespec now{};
  ::clock_gettime(clock, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000 +
         static_cast<std::uint64_t>(now.tv_nsec);
}

HashUnknown unknown_from(HostFiles::Failure failure) {
  switch (failure) {
    case HostFiles::Failure::none:
      return HashUnknown::none;
    case HostFiles::Failure::not_found:
      return HashUnknown::no_name;
    case HostFiles::Failure::no_access:
      return HashUnknown::no_access;
    case HostFiles::Failure::other_version:
      return HashUnknown::changed;
    case HostFiles::Failure::not_regular:
    case HostFiles::Failure::error:
      break;
  }
  return HashUnknown::read_error;
}

}  // namespace

const char* describe(HashUnknown why) {
  switch (why) {
    case HashUnknown::none:
      return "known";
    case HashUnknown::queue_full:
      return "hash queue full";
    case HashUnknown::no_name:
      return "the host cannot name the file and its process is gone";
    case HashUnknown::changed:
      return "the file changed since it ran";
    case HashUnknown::no_access:
      return "permission denied";
    case HashUnknown::too_large:
      return "larger than 4 GiB";
    case HashUnknown::read_error:
      return "read error";
    case HashUnknown::unavailable:
      return "no SHA-256/MD5 in OpenSSL";
    case HashUnknown::stopped:
      return "shutting down";
    case HashUnknown::overdue:
      return "waited too long in the hash queue";
  }
  return "unknown";
}

const char* label(HashUnknown why) {
  switch (why) {
    case HashUnknown::none:
      return "none";
    case HashUnknown::queue_full:
      return "queue_full";
    case HashUnknown::no_name:
      return "no_name";
    case HashUnknown::changed:
      return "changed";
    case HashUnknown::no_access:
      return "no_access";
    case HashUnknown::too_large:
      return "too_large";
    case HashUnknown::read_error:
      return "read_error";
    case HashUnknown::unavailable:
      return "unavailable";
    case HashUnknown::stopped:
      return "stopped";
    case HashUnknown::overdue:
      return "overdue";
  }
  return "none";
}

HashWorker::HashWorker(HashCache& cache, HostFiles files, const Settings& settings, Deliver deliver)
    : cache_(cache),
      files_(std::move(files)),
      settings_(settings),
      deliver_(std::move(deliver)),
      budget_(settings.budget) {
  try {
    digester_ = std::make_unique<FileDigester>();
    available_ = true;
  } catch (const std::runtime_error& error) {
    spdlog::warn("binaries: content hashes are unknown: {}", error.what());
  }
  thread_ = std::thread([this] { run(); });
}

HashWorker::~HashWorker() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void HashWorker::submit(HashRequest&& request) {
  const std::uint64_t now = clock_ns(CLOCK_MONOTONIC);
  if (!available_) return answer_unknown(std::move(request), HashUnknown::unavailable, now);
  if (const auto digest = cache_.find(request.version)) {
    {
      const std::lock_guard lock(mutex_);
      ++stats_.cache_hits;
    }
    HashResult result;
    result.ticket = request.ticket;
    result.version = request.version;
    result.digest = digest;
    result.from_cache = true;
    deliver_(std::move(result));
    return;
  }
  {
    const std::lock_guard lock(mutex_);
    auto& lane = request.lane == HashRequest::Lane::verdict ? verdict_lane_ : background_lane_;
    if (!stopping_ && lane.size() < settings_.queue_capacity) {
      lane.push_back(Queued{std::move(request), now});
      wake_.notify_one();
      return;
    }
    ++stats_.queue_full;
  }
  answer_unknown(std::move(request), HashUnknown::queue_full, now);
}

void HashWorker::answer_unknown(HashRequest&& request, HashUnknown why,
                                std::uint64_t submitted_ns) {
  HashResult result;
  result.ticket = request.ticket;
  result.version = request.version;
  result.unknown = why;
  result.queued_ns = clock_ns(CLOCK_MONOTONIC) - submitted_ns;
  {
    const std::lock_guard lock(mutex_);
    ++stats_.unknown;
    ++stats_.unknown_by[static_cast<std::size_t>(why)];
  }
  deliver_(std::move(result));
}

HashWorker::Stats HashWorker::stats() const {
  const std::lock_guard lock(mutex_);
  Stats stats = stats_;
  stats.queued = verdict_lane_.size() + background_lane_.size();
  return stats;
}

void HashWorker::run() {
  for (;;) {
    Queued next;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] {
        return stopping_ || !verdict_lane_.empty() || !background_lane_.empty();
      });
      if (stopping_) break;
      auto& lane = verdict_lane_.empty() ? background_lane_ : verdict_lane_;
      next = std::move(lane.front());
      lane.pop_front();
    }
    const std::uint64_t waited = clock_ns(CLOCK_MONOTONIC) - next.submitted_ns;
    if (waited > static_cast<std::uint64_t>(settings_.max_wait.count())) {
      answer_unknown(std::move(next.request), HashUnknown::overdue, next.submitted_ns);
      continue;
    }
    HashResult result = hash(next.request);
    result.queued_ns = clock_ns(CLOCK_MONOTONIC) - next.submitted_ns;
    {
      const std::lock_guard lock(mutex_);
      if (result.digest) {
        ++stats_.hashed;
      } else {
        ++stats_.unknown;
        ++stats_.unknown_by[static_cast<std::size_t>(result.unknown)];
      }
      stats_.bytes += result.bytes;
      stats_.cpu_ns += result.cpu_ns;
    }
    deliver_(std::move(result));
  }
  // Every request gets its answer, also at shutdown.
  std::deque<Queued> left;
  {
    const std::lock_guard lock(mutex_);
    for (auto* lane : {&verdict_lane_, &background_lane_}) {
      for (auto& queued : *lane) left.push_back(std::move(queued));
      lane->clear();
    }
  }
  for (auto& queued : left)
    answer_unknown(std::move(queued.request), HashUnknown::stopped, queued.submitted_ns);
}

HostFiles::Opened HashWorker::open(HashRequest& request) const {
  HostFiles::Opened opened;
  opened.failure = HostFiles::Failure::not_found;
  // The descriptor the caller opened while the process lived is the surest.
  if (request.exe) {
    const HostFiles::Failure failure = HostFiles::recheck(request.exe.get(), request.version);
    if (failure == HostFiles::Failure::none) {
      opened.fd = std::move(request.exe);
      opened.failure = failure;
      return opened;
    }
    opened.failure = failure;
  }
  if (!request.host_path.empty()) {
    opened = files_.open_host_path(request.host_path, request.version);
    if (opened.ok()) return opened;
  }
  if (request.pid > 0) {
    HostFiles::Opened by_process = files_.open_process_exe(request.pid, request.version);
    // The process answers for itself only if it still runs that version.
    if (by_process.ok() || opened.failure == HostFiles::Failure::not_found) return by_process;
  }
  return opened;
}

HashResult HashWorker::hash(HashRequest& request) {
  HashResult result;
  result.ticket = request.ticket;
  result.version = request.version;
  std::uint64_t cpu_mark = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  const std::uint64_t cpu_start = cpu_mark;
  const std::uint64_t started_ns = clock_ns(CLOCK_REALTIME);
  HostFiles::Opened opened = open(request);
  if (!opened.ok()) {
    result.unknown = unknown_from(opened.failure);
    if (result.unknown == HashUnknown::no_access && !warned_access_.exchange(true)) {
      spdlog::warn(
          "binaries: cannot read an executed file ({}): content hashes of other users' files "
          "and processes are unknown; the daemon needs CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE "
          "(README, Requirements)",
          std::strerror(opened.error));
    }
  } else {
    const FileDigester::Result read = digester_->digest(
        opened.fd.get(), [this, &cpu_mark](std::size_t bytes) { return pace(bytes, cpu_mark); });
    result.bytes = read.bytes;
    switch (read.outcome) {
      case FileDigester::Outcome::digested:
        // Written to while read (it ran, so only after its last process exited)?
        if (HostFiles::recheck(opened.fd.get(), request.version) == HostFiles::Failure::none) {
          result.digest = read.digest;
          cache_.insert(request.version, read.digest, started_ns);
        } else {
          result.unknown = HashUnknown::changed;
        }
        break;
      case FileDigester::Outcome::too_large:
        result.unknown = HashUnknown::too_large;
        break;
      case FileDigester::Outcome::abandoned:
        result.unknown = HashUnknown::stopped;
        break;
      case FileDigester::Outcome::read_error:
        result.unknown = HashUnknown::read_error;
        break;
    }
  }
  const std::uint64_t cpu_end = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  result.cpu_ns = cpu_end - cpu_start;
  // What the open and the checks cost counts too.
  pace(0, cpu_mark);
  return result;
}

// After each chunk: charge the CPU used since the last call and the bytes read; sleep
// off any debt. False: shutting down.
bool HashWorker::pace(std::size_t bytes, std::uint64_t& cpu_mark) {
  const std::uint64_t cpu_now = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  const std::uint64_t sleep_ns =
      budget_.charge(cpu_now - cpu_mark, bytes, clock_ns(CLOCK_MONOTONIC));
  cpu_mark = cpu_now;
  std::unique_lock lock(mutex_);
  if (sleep_ns > 0) {
    stats_.throttled_ns += sleep_ns;
    wake_.wait_for(lock, std::chrono::nanoseconds(sleep_ns), [this] { return stopping_; });
  }
  return !stopping_;
}

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// The hash worker: digests files off the reader thread, one at a time, within a CPU and
// read budget, from a bounded queue. A flood of new files delays hashes; it never
// blocks the caller, and a request the queue has no room for is answered at once
// ("hash unknown: queue full") and counted, never dropped silently.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "binaries/content_digest.h"
#include "binaries/file_digester.h"
#include "binaries/file_version.h"
#include "binaries/hash_budget.h"
#include "binaries/hash_cache.h"
#include "binaries/host_files.h"
#include "service/file_descriptor.h"

namespace execmond {

// Why a hash is unknown.
enum class HashUnknown : std::uint8_t {
  none,
  queue_full,
  no_name,    // the host cannot name it and the process is gone
  changed,    // the version that ran is no longer there (replaced, or changed while read)
  no_access,  // capabilities missing (CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE)
  too_large,  // FileDigester::kMaxBytes
  read_error,
  unavailable,  // no digests at all (OpenSSL refused SHA-256 or MD5)
  stopped,
  overdue,  // waited in the queue longer than Settings::max_wait
};
inline constexpr std::size_t kHashUnknownKinds = 10;
const char* describe(HashUnknown why);
// A metric label value: "queue_full", "no_name", ...
const char* label(HashUnknown why);

struct HashRequest {
  // Served before `background`: a verdict waits for it.
  enum class Lane { verdict, background };
  std::uint64_t ticket = 0;  // the caller's, returned in the result
  FileVersion version;
  std::string host_path;  // empty: the host cannot name the file
  pid_t pid = 0;          // /proc/PID/exe, while the process lives
  FileDescriptor exe;     // /proc/PID/exe opened at once by the caller, if it could
  Lane lane = Lane::verdict;
};

struct HashResult {
  std::uint64_t ticket = 0;
  FileVersion version;
  std::optional<ContentDigest> digest;
  HashUnknown unknown = HashUnknown::none;
  bool from_cache = false;
  std::uint64_t bytes = 0;
  std::uint64_t cpu_ns = 0;     // the worker's CPU time for this file
  std::uint64_t queued_ns = 0;  // from submit() to the result
};

class HashWorker {
 public:
  struct Settings {
    std::size_t queue_capacity = 1024;  // per lane
    HashBudget::Limits budget;
    // A request older than this when its turn comes is answered "unknown" unread: the
    // verdict waiting for it is bounded in time whatever the queue holds (large files
    // at the read budget).
    std::chrono::nanoseconds max_wait = std::chrono::minutes(5);
  };
  struct Stats {
    std::uint64_t hashed = 0;  // files read and digested
    std::uint64_t cache_hits = 0;
    std::uint64_t unknown = 0;  // results without a digest, queue_full included
    std::array<std::uint64_t, kHashUnknownKinds> unknown_by{};  // by HashUnknown
    std::uint64_t queue_full = 0;
    std::uint64_t bytes = 0;
    std::uint64_t cpu_ns = 0;
    std::uint64_t throttled_ns = 0;  // time slept to stay within the budget
    std::size_t queued = 0;
  };
  using Deliver = std::function<void(HashResult&&)>;

  // `deliver` runs on the worker thread (or on the caller's, for an answer submit()
  // gives at once); it must be quick (post the result to its owner).
  HashWorker(HashCache& cache, HostFiles files, const Settings& settings, Deliver deliver);
  ~HashWorker();
  HashWorker(const HashWorker&) = delete;
  HashWorker& operator=(const HashWorker&) = delete;

  // Any thread. A cached version is answered at once; otherwise queued. The answer
  // always comes, exactly once, through `deliver`.
  void submit(HashRequest&& request);
  Stats stats() const;
  // False when OpenSSL lacks an algorithm: every result is then unknown ("unavailable").
  bool available() const { return available_; }

 private:
  struct Queued {
    HashRequest request;
    std::uint64_t submitted_ns;
  };
  void run();
  HashResult hash(HashRequest& request);
  HostFiles::Opened open(HashRequest& request) const;
  bool pace(std::size_t bytes, std::uint64_t& cpu_mark);
  void answer_unknown(HashRequest&& request, HashUnknown why, std::uint64_t submitted_ns);

  HashCache& cache_;
  HostFiles files_;
  Settings settings_;
  Deliver deliver_;
  HashBudget budget_;
  std::unique_ptr<FileDigester> digester_;  // null: unavailable
  bool available_ = false;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Queued> verdict_lane_;
  std::deque<Queued> background_lane_;
  bool stopping_ = false;
  Stats stats_;
  std::atomic<bool> warned_access_{false};
  std::thread thread_;
};

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// The content stage of the verdict pipeline (issue 14): for a file the pipeline judged
// by its path, what its content says (content_policy.h), with the digest computed once
// per file version by the hash worker and the host's package database kept current by
// the package watcher.
//
// Threads: everything here but the worker's and the watcher's own threads runs on the
// reader thread. Answers that wait (for a digest, or for the package manager to finish)
// come back to it through `post`.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "binaries/content_digest.h"
#include "binaries/content_policy.h"
#include "binaries/file_version.h"
#include "binaries/hash_cache.h"
#include "binaries/hash_worker.h"
#include "binaries/package_watcher.h"
#include "binaries/runtime_binaries.h"
#include "service/file_descriptor.h"

namespace execmond {

// One exec's file, as the path pipeline found it.
struct ContentQuery {
  std::uint64_t ticket = 0;  // the caller's handle, returned with the answer
  FileVersion version;
  // The host's name of the file, to open it (and, in the host view, to look it up in
  // the package database). Empty: the host cannot name it.
  std::string host_path;
  // Judged in the host's view: the package database applies. False for a rootful
  // container's own view (its paths are its image's).
  bool host_view = true;
  bool nameless = false;
  bool upper_layer_in_container = false;
  bool path_admitted = false;  // the allow-list's globs admit the judged path
  pid_t pid = 0;               // /proc/PID/exe while it lives
  FileDescriptor exe;          // /proc/PID/exe, opened at once (judge() does it when it
                               // can: a short-lived process is gone when the worker comes)
};

struct ContentOutcome {
  std::uint64_t ticket = 0;
  FileVersion version;
  ContentDecision decision;
  std::optional<ContentDigest> digest;
  HashUnknown unknown = HashUnknown::none;  // why `digest` is empty, when it is final
};

class ContentIdentity {
 public:
  struct Settings {
    HashWorker::Settings hashing;
    std::size_t cache_capacity = HashCache::kDefaultCapacity;
    // A verdict held for the package manager is decided after this long whatever it
    // does (an interrupted dpkg leaves its journal until `dpkg --configure -a`).
    std::chrono::seconds max_hold{600};
    std::size_t max_holds = 4096;
    // Descriptors of /proc/PID/exe opened at once and not yet read: the rest wait for
    // the worker to open them (the process may be gone by then).
    std::size_t max_open_exe = 64;
    std::string proc = "/proc";
  };
  struct Stats {
    HashWorker::Stats hashing;
    std::size_t waiting = 0;  // answers owed: digests awaited
    std::size_t held = 0;     // answers owed: the package manager runs
    std::uint64_t held_total = 0;
    std::uint64_t held_expired = 0;
    bool packaged = false;
    std::shared_ptr<const PackageIndex> packages;  // null: none
    PackageWatcher::Stats package_loads;
  };
  using Post = std::function<void(std::function<void()>)>;
  // A decision judge() did not give at once. Reader thread.
  using Answer = std::function<void(ContentOutcome&&)>;
  // The digest of a file whose decision was given at once (or not needed): for the log,
  // the trace and the info metric. Reader thread.
  using Hashed = std::function<void(ContentOutcome&&)>;

  // `host_root`: the host's root (HostRoot's), duplicated. `databases`: the package
  // managers to look for (known_package_databases()).
  ContentIdentity(int host_root, Post post, Answer answer, Hashed hashed,
                  std::vector<std::unique_ptr<PackageDatabase>> databases,
                  const Settings& settings);
  ContentIdentity(int host_root, Post post, Answer answer, Hashed hashed)
      : ContentIdentity(host_root, std::move(post), std::move(answer), std::move(hashed),
                        known_package_databases(), Settings{}) {}
  ~ContentIdentity();
  ContentIdentity(const ContentIdentity&) = delete;
  ContentIdentity& operator=(const ContentIdentity&) = delete;

  // Reader thread, at start and on reload: `binaries: allow:` (its sha256: entries) and
  // `binaries: packaged:`. The package database is loaded the first time packaged is on.
  void configure(const std::vector<std::string>& allow_entries, bool packaged);

  // Reader thread: does the host's root hold this version at `path`?
  bool host_names(const std::string& path, const FileVersion& version) const {
    return HostFiles::names(root_.get(), path, version);
  }

  // Reader thread. The decision now, with the digest if the cache has it; or nullopt:
  // the answer follows through `answer`, exactly once. Either way, a digest not known
  // yet follows through `hashed` (or with the answer).
  std::optional<ContentOutcome> judge(ContentQuery&& query);

  Stats stats() const;

 private:
  struct Waiting {
    ContentQuery query;
    std::optional<ContentDigest> digest;
    HashUnknown unknown = HashUnknown::none;
    bool hash_pending = false;  // a digest is on its way
    bool exe_opened = false;    // holds one of max_open_exe
    bool decided = false;       // only the digest is owed (`hashed`)
    ContentDecision decision;   // when decided
    bool held = false;          // waits for the package manager
    bool held_busy = false;     // ...which was running (not only loading the database)
    std::chrono::steady_clock::time_point held_since{};
    std::shared_ptr<const PackageIndex> held_index;  // the index when it was held
  };
  using WaitingMap = std::unordered_map<std::uint64_t, Waiting>;
  HashState hash_state(const Waiting& waiting) const;
  void hold(Waiting& waiting, bool busy);
  void erase(WaitingMap::iterator at);
  // A held verdict decided if the package manager is done (or it waited too long).
  bool release(Waiting& waiting, bool busy, std::chrono::steady_clock::time_point now);
  void on_hash(HashResult&& result);  // reader thread
  void recheck_holds();               // reader thread
  ContentDecision decide(const Waiting& waiting, HashState hash, bool busy,
                         bool upgrade_ended) const;
  void remember_runtime(const ContentQuery& query, const ContentDecision& decision,
                        const ContentDigest& digest);
  void submit(std::uint64_t key, ContentQuery& query, HashRequest::Lane lane);
  void finish(Waiting& waiting, const ContentDecision& decision);
  static ContentOutcome outcome_of(const Waiting& waiting, const ContentDecision& decision);

  FileDescriptor root_;
  Post post_;
  Answer answer_;
  Hashed hashed_;
  Settings settings_;
  std::vector<std::unique_ptr<PackageDatabase>> databases_;
  HashCache cache_;
  ContentAllowList content_;
  bool packaged_ = false;
  RuntimeBinaries runtimes_;
  WaitingMap waiting_;  // by an internal key
  std::uint64_t next_key_ = 1;
  std::size_t open_exe_ = 0;
  // Read by stats() from other threads.
  std::atomic<std::size_t> waiting_count_{0};
  std::atomic<std::size_t> held_count_{0};
  std::atomic<std::uint64_t> held_total_{0};
  std::atomic<std::uint64_t> held_expired_{0};
  std::unique_ptr<PackageWatcher> packages_;
  std::atomic<const PackageWatcher*> watcher_{nullptr};  // packages_, for stats()
  std::atomic<bool> packaged_on_{false};
  // Last: its thread delivers into the members above, so it stops first.
  std::unique_ptr<HashWorker> worker_;
  std::shared_ptr<bool> alive_;  // posted callbacks check it
};

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
#include "binaries/content_identity.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "binaries/host_files.h"

namespace execmond {

ContentIdentity::ContentIdentity(int host_root, Post post, Answer answer, Hashed hashed,
                                 std::vector<std::unique_ptr<PackageDatabase>> databases,
                                 const Settings& settings)
    : root_(::fcntl(host_root, F_DUPFD_CLOEXEC, 0)),
      post_(std::move(post)),
      answer_(std::move(answer)),
      hashed_(std::move(hashed)),
      settings_(settings),
      databases_(std::move(databases)),
      cache_(settings.cache_capacity),
      alive_(std::make_shared<bool>(true)) {
  std::weak_ptr<bool> alive = alive_;
  worker_ = std::make_unique<HashWorker>(
      cache_, HostFiles(FileDescriptor(::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0)), settings.proc),
      settings.hashing, [this, alive](HashResult&& result) {
        post_([this, alive, result = std::move(result)]() mutable {
          if (alive.lock()) on_hash(std::move(result));
        });
      });
}

ContentIdentity::~ContentIdentity() {
  // The worker first: its thread posts into this object.
  worker_.reset();
  packages_.reset();
  alive_.reset();
}

void ContentIdentity::configure(const std::vector<std::string>& allow_entries, bool packaged) {
  content_ = ContentAllowList(allow_entries);
  packaged_ = packaged;
  packaged_on_ = packaged;
  // Verdicts are judged again after a reload: a runtime is remembered again when it runs.
  runtimes_.clear();
  if (packaged_ && !packages_) {
    std::weak_ptr<bool> alive = alive_;
    packages_ = std::make_unique<PackageWatcher>(root_.get(), std::move(databases_), [this, alive] {
      post_([this, alive] {
        if (alive.lock()) recheck_holds();
      });
    });
    watcher_ = packages_.get();
  }
}

ContentDecision ContentIdentity::decide(const Waiting& waiting, HashState hash, bool busy,
                                        bool upgrade_ended) const {
  const ContentQuery& query = waiting.query;
  ContentFacts facts;
  facts.host_path = query.host_view ? std::string_view(query.host_path) : std::string_view();
  facts.nameless = query.nameless;
  facts.upper_layer_in_container = query.upper_layer_in_container;
  facts.path_admitted = query.path_admitted;
  PackageView view;
  PackageWatcher::Snapshot snapshot;
  if (packaged_ && packages_) {
    snapshot = packages_->snapshot();
    view.index = snapshot.index.get();
    // An upgrade's previous checksums count a while after it: an exec of the old
    // version whose digest comes after the reload is that package's file all the same.
    if (waiting.held_index && waiting.held_index != snapshot.index) {
      view.previous = waiting.held_index.get();
    } else if (snapshot.previous &&
               std::chrono::steady_clock::now() - snapshot.loaded_at < settings_.max_hold) {
      view.previous = snapshot.previous.get();
    }
    view.busy = busy || snapshot.loading;
    view.upgrade_ended = upgrade_ended;
  }
  const ContentDigest* digest = waiting.digest ? &*waiting.digest : nullptr;
  ContentDecision decision = decide_content(facts, hash, digest, content_, view, runtimes_);
  // The first load has not finished: a decision that needs the database waits for it.
  if (packaged_ && packages_ && snapshot.loading && view.index == nullptr &&
      decision.kind != ContentDecision::Kind::need_hash && !query.nameless &&
      !query.upper_layer_in_container && query.host_view && !query.host_path.empty()) {
    decision = ContentDecision{};
    decision.kind = ContentDecision::Kind::hold;
  }
  return decision;
}

void ContentIdentity::submit(std::uint64_t key, ContentQuery& query, HashRequest::Lane lane) {
  HashRequest request;
  request.ticket = key;
  request.version = query.version;
  request.host_path = query.host_path;
  request.pid = query.pid;
  request.exe = std::move(query.exe);
  request.lane = lane;
  worker_->submit(std::move(request));
}

HashState ContentIdentity::hash_state(const Waiting& waiting) const {
  if (waiting.digest) return HashState::known;
  return waiting.hash_pending ? HashState::pending : HashState::unknown;
}

void ContentIdentity::hold(Waiting& waiting, bool busy) {
  waiting.held_busy = waiting.held_busy || busy;
  if (waiting.held) return;
  waiting.held = true;
  waiting.held_since = std::chrono::steady_clock::now();
  if (packages_) waiting.held_index = packages_->snapshot().index;
  ++held_total_;
  ++held_count_;
}

void ContentIdentity::erase(WaitingMap::iterator at) {
  if (at->second.exe_opened) --open_exe_;
  if (at->second.held) --held_count_;
  if (!at->second.decided) --waiting_count_;
  waiting_.erase(at);
}

std::optional<ContentOutcome> ContentIdentity::judge(ContentQuery&& query) {
  const std::uint64_t key = next_key_++;
  Waiting waiting;
  waiting.query = std::move(query);
  waiting.digest = cache_.find(waiting.query.version);
  waiting.hash_pending = !waiting.digest && worker_->available();
  if (!waiting.digest && !waiting.hash_pending) waiting.unknown = HashUnknown::unavailable;
  // A file the host cannot name is read through its process, which may not live until
  // the worker comes: open it now (a few microseconds; only such files, bounded).
  const bool by_process = waiting.query.nameless || waiting.query.host_path.empty();
  if (waiting.hash_pending && by_process && !waiting.query.exe && waiting.query.pid > 0 &&
      open_exe_ < settings_.max_open_exe) {
    const std::string exe = settings_.proc + "/" + std::to_string(waiting.query.pid) + "/exe";
    waiting.query.exe =
        FileDescriptor(::open(exe.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    waiting.exe_opened = static_cast<bool>(waiting.query.exe);
    open_exe_ += waiting.exe_opened;
  }
  const bool busy = packaged_ && packages_ && packages_->busy_now();
  const ContentDecision decision = decide(waiting, hash_state(waiting), busy, false);
  const bool runtime = is_runtime_name(waiting.query.host_path);
  if (decision.kind == ContentDecision::Kind::allowed ||
      decision.kind == ContentDecision::Kind::unexpected) {
    ContentOutcome answer = outcome_of(waiting, decision);
    if (waiting.digest) {
      remember_runtime(waiting.query, decision, *waiting.digest);
    } else if (waiting.hash_pending) {
      // Decided; the digest follows for the log, the trace and the metric. A runtime's
      // goes first: its copy's verdict will ask for it.
      waiting.decided = true;
      waiting.decision = decision;
      submit(key, waiting.query,
             runtime ? HashRequest::Lane::verdict : HashRequest::Lane::background);
      waiting_.emplace(key, std::move(waiting));
    }
    return answer;
  }
  // need_hash or hold: the answer comes later, once.
  if (waiting.hash_pending) submit(key, waiting.query, HashRequest::Lane::verdict);
  if (decision.kind == ContentDecision::Kind::hold) hold(waiting, busy);
  ++waiting_count_;
  waiting_.emplace(key, std::move(waiting));
  return std::nullopt;
}

void ContentIdentity::remember_runtime(const ContentQuery& query, const ContentDecision& decision,
                                       const ContentDigest& digest) {
  if (decision.kind == ContentDecision::Kind::allowed &&
      decision.grounds != ContentDecision::Grounds::runtime_clone && !query.nameless &&
      is_runtime_name(query.host_path))
    runtimes_.remember(digest.sha256, query.host_path);
}

ContentOutcome ContentIdentity::outcome_of(const Waiting& waiting,
                                           const ContentDecision& decision) {
  ContentOutcome answer;
  answer.ticket = waiting.query.ticket;
  answer.version = waiting.query.version;
  answer.decision = decision;
  answer.digest = waiting.digest;
  answer.unknown = waiting.unknown;
  return answer;
}

void ContentIdentity::finish(Waiting& waiting, const ContentDecision& decision) {
  if (waiting.digest) remember_runtime(waiting.query, decision, *waiting.digest);
  answer_(outcome_of(waiting, decision));
}

void ContentIdentity::on_hash(HashResult&& result) {
  const auto found = waiting_.find(result.ticket);
  if (found == waiting_.end()) return;
  Waiting& waiting = found->second;
  waiting.digest = result.digest;
  waiting.unknown = result.unknown;
  waiting.hash_pending = false;
  if (waiting.decided) {
    if (waiting.digest) remember_runtime(waiting.query, waiting.decision, *waiting.digest);
    ContentOutcome answer;
    answer.ticket = waiting.query.ticket;
    answer.version = waiting.query.version;
    answer.decision = waiting.decision;
    answer.digest = waiting.digest;
    answer.unknown = waiting.unknown;
    erase(found);
    hashed_(std::move(answer));
    return;
  }
  const bool busy = packaged_ && packages_ && packages_->busy_now();
  if (waiting.held) {
    if (release(waiting, busy, std::chrono::steady_clock::now())) erase(found);
    return;
  }
  const ContentDecision decision = decide(waiting, hash_state(waiting), busy, false);
  if (decision.kind == ContentDecision::Kind::hold) {
    if (held_count_ < settings_.max_holds) {
      hold(waiting, busy);
      return;
    }
    // Too many held already: decided now, as if the package manager were done.
    finish(waiting, decide(waiting, hash_state(waiting), false, false));
  } else {
    finish(waiting, decision);
  }
  erase(found);
}

bool ContentIdentity::release(Waiting& waiting, bool busy,
                              std::chrono::steady_clock::time_point now) {
  if (waiting.hash_pending) return false;
  const bool expired = now - waiting.held_since >= settings_.max_hold;
  if (busy && !expired) return false;
  if (busy) waiting.held_busy = true;
  // Done: judged against the new index and the one it was held with. Expired while
  // the package manager still runs: judged as things stand.
  const ContentDecision decision =
      decide(waiting, hash_state(waiting), false, waiting.held_busy && !busy);
  if (decision.kind == ContentDecision::Kind::hold) return false;  // the first load runs
  if (busy) ++held_expired_;
  finish(waiting, decision);
  return true;
}

void ContentIdentity::recheck_holds() {
  if (!packages_ || held_count_ == 0) return;
  const bool busy = packages_->busy_now();
  const auto now = std::chrono::steady_clock::now();
  for (auto at = waiting_.begin(); at != waiting_.end();) {
    const auto next = std::next(at);
    if (at->second.held && release(at->second, busy, now)) erase(at);
    at = next;
  }
}

ContentIdentity::Stats ContentIdentity::stats() const {
  Stats stats;
  stats.hashing = worker_->stats();
  stats.held = held_count_;
  const std::size_t owed = waiting_count_;
  stats.waiting = owed > stats.held ? owed - stats.held : 0;
  stats.held_total = held_total_;
  stats.held_expired = held_expired_;
  stats.packaged = packaged_on_;
  if (const PackageWatcher* watcher = watcher_) {
    stats.packages = watcher->snapshot().index;
    stats.package_loads = watcher->stats();
  }
  return stats;
}

}  // namespace execmond

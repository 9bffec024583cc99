// SPDX-License-Identifier: Apache-2.0
#include "binaries/unexpected_binaries.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <functional>
#include <utility>

#include "binaries/process_view.h"

namespace execmond {
namespace {

template <std::size_t N>
std::string_view field(const char (&bytes)[N]) {
  return {bytes, strnlen(bytes, N)};
}

constexpr std::size_t kPathBuckets = 4096;

UnexpectedExecOwner owner_of(const execmond_event_header& hdr) { return {hdr.uid, hdr.cgroup_id}; }

}  // namespace

UnexpectedBinaries::UnexpectedBinaries(BinaryVerdictCache& kernel_cache,
                                       UnexpectedBinaryMetrics& metrics,
                                       const UnexpectedExecLog& log, BinaryJudge& judge,
                                       const HostLoaders& loaders, KernelVerdicts kernel_verdicts)
    : kernel_cache_(kernel_cache),
      metrics_(metrics),
      log_(log),
      judge_(judge),
      loaders_(loaders),
      kernel_verdicts_(kernel_verdicts),
      path_buckets_(kPathBuckets),
      host_mntns_(host_mount_namespace()) {}

TokenBucket& UnexpectedBinaries::path_bucket(std::string_view path) {
  const std::uint64_t hash = std::hash<std::string_view>{}(path) | 1;
  auto& [owner, bucket] = path_buckets_[hash % path_buckets_.size()];
  if (owner != hash) {
    owner = hash;
    bucket = TokenBucket{};
  }
  return bucket;
}

void UnexpectedBinaries::write_kernel(CachedVerdict& entry, execmond_verdict verdict) {
  if (kernel_verdicts_ == KernelVerdicts::kLoadersOnly && verdict != EXECMOND_VERDICT_LOADER)
    return;
  kernel_cache_.write(entry.key, verdict);
  entry.in_kernel = true;
}

void UnexpectedBinaries::remember(const execmond_binary_id& key, const FileVerdict& verdict,
                                  JudgingView view, bool loader, bool pending) {
  CachedVerdict& entry = verdicts_.insert(key, [this](const CachedVerdict& evicted) {
    // The kernel's copy first: an UNEXPECTED flag the daemon cannot name is the rare
    // exec that raced the eviction, counted as execmond_evicted.
    if (evicted.in_kernel) kernel_cache_.erase(evicted.key);
  });
  entry.allowed = verdict.allowed;
  entry.reason = verdict.reason;
  entry.view = view;
  entry.path = verdict.name;
  entry.sha256 = verdict.sha256;
  entry.loader = loader;
  entry.pending = pending;
  if (loader) {
    write_kernel(entry, EXECMOND_VERDICT_LOADER);
  } else if (pending) {
    write_kernel(entry, EXECMOND_VERDICT_PENDING);
  } else {
    write_kernel(entry, verdict.allowed ? EXECMOND_VERDICT_ALLOWED : EXECMOND_VERDICT_UNEXPECTED);
  }
}

FileVerdict UnexpectedBinaries::executable_verdict(const execmond_binary_event& e, JudgingView view,
                                                   bool& is_loader, CachedVerdict*& entry) {
  entry = verdicts_.find(e.binary);
  if (entry) {
    is_loader = entry->loader;
    FileVerdict known{entry->allowed || entry->pending,
                      entry->pending,
                      entry->reason,
                      entry->path,
                      true,
                      entry->sha256};
    return known;
  }
  if ((e.binary_flags & EXECMOND_BINARY_LOADER) && e.path[0] == '\0') {
    // A LOADER verdict the daemon no longer holds: the host's loaders are known by
    // identity; any other is judged again at the first exec that is not a loader's.
    is_loader = true;
    if (const HostLoader* loader = loaders_.find(e.binary.dev, e.binary.ino)) {
      FileVerdict verdict;
      verdict.allowed = allow_list_->allows(loader->path);
      verdict.name = loader->path;
      return verdict;
    }
    return {false, false, UnexpectedReason::kUnverified, "(a loader no longer known)", false};
  }
  FileVerdict verdict = judge_.judge_executable(e, view);
  is_loader = judge_.is_loader(e, view, verdict);
  if (content_ && !(e.binary_flags & EXECMOND_BINARY_SCRIPT)) {
    ContentQuestion question{e.binary,  e.binary_flags,  e.fs_magic,
                             view,      verdict.name,    field(e.path),
                             e.hdr.pid, verdict.allowed, verdict.reason};
    const ContentAnswer answer = content_->judge(question);
    verdict.sha256 = answer.sha256;
    switch (answer.kind) {
      case ContentAnswer::Kind::kAllowed:
        verdict.allowed = true;
        break;
      case ContentAnswer::Kind::kUnexpected:
        verdict.allowed = false;
        verdict.reason = answer.reason;
        break;
      case ContentAnswer::Kind::kPending:
        // Judged as allowed for now: the exec waits for the answer if nothing else in
        // it is unexpected.
        verdict.pending = pending_.size() < kMaxPendingFiles;
        if (verdict.pending) verdict.allowed = true;
        break;
    }
  }
  // Cached only when the verdict is a fact of this key: its version settled, and the
  // kernel chose the same view (view 0 is the host's).
  const bool same_view = (view == JudgingView::kHost) == (e.binary.view == 0);
  if (verdict.cacheable && same_view) {
    remember(e.binary, verdict, view, is_loader, verdict.pending);
    entry = verdicts_.find(e.binary);
  }
  return verdict;
}

const ExecVerdict* UnexpectedBinaries::on_binary(const execmond_binary_event& e) {
  if (!allow_list_) return nullptr;
  judge_.start();
  const ExecContext context = BinaryJudge::context_of(e.ctx);
  const JudgingView view = judging_view(context);
  bool is_loader = false;
  CachedVerdict* entry = nullptr;
  const FileVerdict executable = executable_verdict(e, view, is_loader, entry);
  judge_.judge_exec(e, executable, is_loader, verdict_);
  if (verdict_.allowed && executable.pending) {
    // Waits for the content verdict of its file, with any other exec of it.
    PendingFile& file = pending_[e.binary];
    if (file.execs.empty()) {
      file.verdict = verdict_;
      file.hdr = e.hdr;
      file.binary_flags = e.binary_flags;
      file.context = context;
      file.deadline_ns = e.hdr.timestamp_ns + kContentDeadlineNs;
    }
    add_pending_exec(file, CommName(e.hdr.comm));
    return &verdict_;
  }
  if (verdict_.allowed) return &verdict_;
  UnexpectedExec exec;
  exec.hdr = &e.hdr;
  exec.binary = e.binary;
  exec.binary_flags = e.binary_flags;
  exec.path = verdict_.path;
  exec.reason = verdict_.reason;
  exec.view = verdict_.view;
  exec.context = &context;
  exec.verdict = &verdict_;
  exec.process_path = field(e.path);
  exec.script_given = field(e.script_path);
  exec.cwd = field(e.cwd);
  // The file's own cached verdict carries its series and budget, when it is what was
  // unexpected.
  const bool about_the_file = !verdict_.script && !verdict_.program && entry && !entry->allowed &&
                              entry->path == verdict_.path;
  if (!verdict_.script && !verdict_.program) exec.sha256 = executable.sha256;
  count(about_the_file ? entry : nullptr, exec, CommName(e.hdr.comm), 1);
  return &verdict_;
}

void UnexpectedBinaries::add_pending_exec(PendingFile& file, const CommName& comm) {
  for (auto& [known, execs] : file.execs) {
    if (known == comm) {
      ++execs;
      return;
    }
  }
  // A few names apart; the rest under the last one (the count stays exact).
  if (file.execs.size() < 8) {
    file.execs.emplace_back(comm, 1);
  } else {
    ++file.execs.back().second;
  }
}

void UnexpectedBinaries::count(CachedVerdict* entry, const UnexpectedExec& exec,
                               const CommName& comm, std::uint64_t execs) {
  const execmond_event_header& hdr = *exec.hdr;
  UnexpectedBinaryMetrics::Series series;
  const bool by_container = static_cast<bool>(container_of_);
  if (entry && entry->series_known && entry->comm == comm &&
      (!by_container || entry->cgroup_id == hdr.cgroup_id)) {
    series = entry->series;  // the hot path: no lookup
  } else {
    const std::string_view container = by_container ? container_of_(hdr.cgroup_id) : "";
    series =
        metrics_.series_for(exec.path, comm, reason_label(exec.reason), owner_of(hdr), container);
    if (entry) {
      entry->comm = comm;
      entry->cgroup_id = hdr.cgroup_id;
      entry->series = series;
      entry->series_known = true;
    }
  }
  metrics_.count(series, execs);
  if (unexpected_files_ && !exec.sha256.empty() && !exec.cached)
    unexpected_files_->record(exec.path, exec.sha256);
  TokenBucket& bucket = entry ? entry->log_bucket : path_bucket(exec.path);
  if (!held_.empty()) release_held(hdr.timestamp_ns);
  const bool first = LogBudget::first_line(bucket);
  const bool admitted = log_budget_.admit(bucket, hdr.uid, comm, hdr.cgroup_id, hdr.timestamp_ns);
  if (!admitted && !first) {
    metrics_.record_log_suppressed();
    return;
  }
  // A cached verdict's exec carries no context: read it while the process lives.
  std::optional<ExecContext> context;
  UnexpectedExec with_context = exec;
  if (!exec.context && exec.cached) {
    if (ProcessView::available())
      context = read_exec_context(static_cast<int>(hdr.pid), host_mntns_);
    with_context.context = context ? &*context : nullptr;
  }
  if (admitted) {
    log_.write(with_context);
  } else {
    hold(with_context, comm);  // a new file's first line: written when its owner may
  }
}

void UnexpectedBinaries::hold(const UnexpectedExec& exec, const CommName& comm) {
  if (held_.size() == kMaxHeldLines) {
    held_.pop_front();
    metrics_.record_log_suppressed();
  }
  held_.push_back({UnexpectedExecLog::line_of(exec), exec.hdr->uid, comm, exec.hdr->cgroup_id,
                   exec.hdr->timestamp_ns});
}

void UnexpectedBinaries::release_held(std::uint64_t now_ns) {
  // Newest first: after a flood, what ran last is the one a person needs.
  for (std::size_t i = held_.size(); i-- > 0;) {
    HeldLine& held = held_[i];
    if (!log_budget_.admit_held(held.uid, held.comm, held.cgroup_id, now_ns)) continue;
    const std::uint64_t waited = now_ns > held.exec_ns ? now_ns - held.exec_ns : 0;
    held.line.facts.push_back({"EXECMOND_HELD_MS", "held_ms", std::to_string(waited / 1'000'000)});
    log_.write(held.line);
    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void UnexpectedBinaries::on_exec(const execmond_exec_event& e) {
  const std::uint32_t flags = e.binary_flags;
  if (!(flags & (EXECMOND_BINARY_UNEXPECTED | EXECMOND_BINARY_PENDING)) || !allow_list_) return;
  const CommName comm(e.hdr.comm);
  if (flags & EXECMOND_BINARY_PENDING) {
    const auto waiting = pending_.find(e.binary);
    if (waiting != pending_.end()) {
      add_pending_exec(waiting->second, comm);
      return;
    }
  }
  CachedVerdict* entry = verdicts_.find(e.binary);
  if (entry && entry->pending) {
    // Its exec record raced the first record's: it waits with the others.
    PendingFile& file = pending_[e.binary];
    if (file.execs.empty()) {
      file.hdr = e.hdr;
      file.verdict.path = entry->path;
      file.verdict.executable = {true, true, entry->reason, entry->path, true, entry->sha256};
      file.verdict.view = entry->view;
      file.deadline_ns = e.hdr.timestamp_ns + kContentDeadlineNs;
    }
    add_pending_exec(file, comm);
    return;
  }
  if (entry && entry->allowed) return;  // PENDING that resolved to allowed
  UnexpectedExec exec;
  exec.hdr = &e.hdr;
  exec.binary = e.binary;
  exec.binary_flags = flags;
  exec.cached = true;
  if (entry) {
    exec.path = entry->path;
    exec.reason = entry->reason;
    exec.view = entry->view;
    exec.sha256 = entry->sha256;
  } else {
    exec.path = kEvictedPath;
    exec.reason = UnexpectedReason::kUnverified;
    exec.view = e.binary.view == 0 ? JudgingView::kHost : JudgingView::kProcess;
  }
  count(entry, exec, comm, 1);
}

void UnexpectedBinaries::resolve_pending(const execmond_binary_id& key, PendingFile& file,
                                         const ContentAnswer& answer) {
  FileVerdict final_verdict = file.verdict.executable;
  final_verdict.pending = false;
  if (!answer.sha256.empty()) final_verdict.sha256 = answer.sha256;
  if (answer.kind == ContentAnswer::Kind::kUnexpected) {
    final_verdict.allowed = false;
    final_verdict.reason = answer.reason;
  } else if (answer.kind == ContentAnswer::Kind::kAllowed) {
    final_verdict.allowed = true;
  } else if (file.verdict.executable.pending) {
    // No answer in time: the name's verdict stands (it was judged allowed by name, or
    // it would not have waited).
    final_verdict.allowed = true;
  }
  CachedVerdict* entry = verdicts_.find(key);
  if (entry) {
    entry->pending = false;
    entry->allowed = final_verdict.allowed;
    entry->reason = final_verdict.reason;
    entry->sha256 = final_verdict.sha256;
    if (entry->in_kernel || kernel_verdicts_ == KernelVerdicts::kAll)
      write_kernel(*entry, entry->loader           ? EXECMOND_VERDICT_LOADER
                           : final_verdict.allowed ? EXECMOND_VERDICT_ALLOWED
                                                   : EXECMOND_VERDICT_UNEXPECTED);
  }
  if (final_verdict.allowed) return;
  UnexpectedExec exec;
  exec.hdr = &file.hdr;
  exec.binary = key;
  exec.binary_flags = file.binary_flags;
  exec.path = final_verdict.name;
  exec.reason = final_verdict.reason;
  exec.view = file.verdict.view;
  exec.context = file.context ? &*file.context : nullptr;
  exec.cached = !file.context;
  exec.sha256 = final_verdict.sha256;
  for (const auto& [comm, execs] : file.execs) {
    exec.execs = execs;
    count(entry && entry->path == exec.path ? entry : nullptr, exec, comm, execs);
  }
}

void UnexpectedBinaries::on_content_verdict(const execmond_binary_id& key, ContentAnswer answer) {
  const auto waiting = pending_.find(key);
  if (waiting != pending_.end()) {
    resolve_pending(key, waiting->second, answer);
    pending_.erase(waiting);
    return;
  }
  // No exec waits (they were all counted, or none came): the verdict is kept for the next.
  if (CachedVerdict* entry = verdicts_.find(key); entry && entry->pending) {
    PendingFile none;
    none.verdict.executable = {true, true, entry->reason, entry->path, true, entry->sha256};
    resolve_pending(key, none, answer);
  }
}

void UnexpectedBinaries::on_content_hash(const execmond_binary_id& key, const ContentAnswer& answer,
                                         std::string_view name) {
  if (answer.sha256.empty() || !allow_list_) return;
  CachedVerdict* entry = verdicts_.find(key);
  if (const auto waiting = pending_.find(key); waiting != pending_.end())
    waiting->second.verdict.executable.sha256 = answer.sha256;
  if (entry) entry->sha256 = answer.sha256;
  // Unexpected: by its cached verdict, or (a verdict too fresh to cache) by the answer.
  const bool unexpected =
      entry ? !entry->allowed && !entry->pending : answer.kind == ContentAnswer::Kind::kUnexpected;
  if (!unexpected) return;
  const std::string_view path = entry ? std::string_view(entry->path) : name;
  const UnexpectedReason reason = entry ? entry->reason : answer.reason;
  if (unexpected_files_) unexpected_files_->record(path, answer.sha256);
  // Its exec was logged with sha256=pending: the digest gets a line of its own, within a
  // budget of its own (100 at once, then 20 a second).
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const double now_s = static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
  content_line_tokens_ = std::min(100.0, content_line_tokens_ + (now_s - content_line_s_) * 20);
  content_line_s_ = now_s;
  if (content_line_tokens_ < 1) {
    metrics_.record_log_suppressed();
    return;
  }
  content_line_tokens_ -= 1;
  log_.write_content(path, reason, answer.sha256, key);
}

void UnexpectedBinaries::tick(std::uint64_t now_ns) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline_ns > now_ns) {
      ++it;
      continue;
    }
    spdlog::warn("no content verdict for {} within {} s: its execs are counted by its name",
                 it->second.verdict.executable.name, kContentDeadlineNs / 1'000'000'000);
    resolve_pending(it->first, it->second, ContentAnswer{ContentAnswer::Kind::kPending, {}});
    it = pending_.erase(it);
  }
  if (!held_.empty()) release_held(now_ns);
  if (const std::optional<LogBudget::Summary> summary = log_budget_.summary(now_ns))
    log_.write_summary(*summary);
}

void UnexpectedBinaries::seed_loaders() {
  for (const HostLoader& loader : loaders_.loaders()) {
    execmond_binary_id key{};
    key.ino = loader.facts.ino;
    key.ctime_ns = loader.facts.ctime_ns;
    key.dev = loader.facts.dev;
    key.view = 0;
    FileVerdict verdict;
    verdict.allowed = allow_list_->allows(loader.path);
    verdict.name = loader.path;
    remember(key, verdict, JudgingView::kHost, /*loader=*/true, /*pending=*/false);
  }
}

void UnexpectedBinaries::seed_own_binary() {
  // The daemon runs its own file: the child that bounds each YAML parse
  // (config/parse_bound.h) at every start, reload and --check-config. Wherever it is
  // installed (a build tree, /opt, /usr/local/sbin), that exec is not news. Only this
  // version of this file: a copy is another inode, a rebuild another change time.
  const FileDescriptor self(::open("/proc/self/exe", O_PATH | O_CLOEXEC));
  const std::optional<FileFacts> facts = self ? file_facts(self.get()) : std::nullopt;
  if (!facts) return;
  execmond_binary_id key{};
  key.ino = facts->ino;
  key.ctime_ns = facts->ctime_ns;
  key.dev = facts->dev;
  key.view = 0;
  FileVerdict verdict;
  verdict.allowed = true;
  verdict.name = read_link(AT_FDCWD, "/proc/self/exe").value_or("(execmond)");
  remember(key, verdict, JudgingView::kHost, /*loader=*/false, /*pending=*/false);
}

void UnexpectedBinaries::replace_allow_list(std::optional<BinaryAllowList> allow_list) {
  // Execs waiting for content verdicts are counted by their names' verdicts: none lost.
  for (auto& [key, file] : pending_)
    resolve_pending(key, file, ContentAnswer{ContentAnswer::Kind::kPending, {}});
  pending_.clear();
  if (content_) content_->forget_pending();
  allow_list_ = std::move(allow_list);
  judge_.set_allow_list(allow_list_ ? &*allow_list_ : nullptr);
  verdicts_.clear();
  kernel_cache_.clear();
  if (allow_list_) {
    seed_loaders();
    seed_own_binary();
  }
}

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// The binaries stage on real files: verdicts, kernel writes, counting from the cache,
// views, reasons, loaders, scripts, deferred (content) verdicts, budgets.
#include <fcntl.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "binaries/binary_judge.h"
#include "binaries/file_facts.h"
#include "binaries/host_loaders.h"
#include "binaries/host_paths.h"
#include "binaries/judging_view.h"
#include "binaries/live_mount_table.h"
#include "binaries/unexpected_binaries.h"
#include "metric_families.h"
#include "metrics/unexpected_binary_metrics.h"

namespace execmond {
namespace {

namespace fs = std::filesystem;
constexpr std::uint64_t kSecond = 1'000'000'000;

std::uint64_t now_ns(clockid_t clock) {
  timespec now{};
  ::clock_gettime(clock, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * kSecond + now.tv_nsec;
}

class RecordingCache : public BinaryVerdictCache {
 public:
  void write(const execmond_binary_id& binary, execmond_verdict verdict) override {
    writes.emplace_back(binary.ino, verdict);
  }
  void erase(const execmond_binary_id& binary) override { erased.push_back(binary.ino); }
  void clear() override { ++clears; }
  std::vector<std::pair<std::uint64_t, execmond_verdict>> writes;
  std::vector<std::uint64_t> erased;
  int clears = 0;
  // The last verdict written for an inode, or 0.
  int verdict_of(std::uint64_t ino) const {
    int verdict = 0;
    for (const auto& [written, v] : writes)
      if (written == ino) verdict = v;
    return verdict;
  }
};

// A directory of files under /tmp for one test.
struct Files {
  Files() {
    char name[] = "/tmp/execmond-stage-XXXXXX";
    dir = ::mkdtemp(name);
    ::chmod(dir.c_str(), 0755);
  }
  ~Files() { fs::remove_all(dir); }
  std::string make(const std::string& relative, const std::string& content =
                                                    "\x7f"
                                                    "ELF") {
    const std::string path = dir + "/" + relative;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << content;
    ::chmod(path.c_str(), 0755);
    return path;
  }
  std::string dir;
};

// The pipeline with the test process's own root and table as the host's, and a clock
// a second ahead so that files made by the test are settled versions.
struct Stage {
  explicit Stage(std::vector<std::string> allow = {"/usr/bin/*", "/usr/lib/**", "/lib64/*"},
                 std::uint64_t clock_ahead_ns = kSecond)
      : mounts("/proc/self/mountinfo"),
        host(FileDescriptor(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)), mounts),
        loaders(HostLoaders::scan(host.root())),
        judge(host, loaders, [clock_ahead_ns] { return now_ns(CLOCK_REALTIME) + clock_ahead_ns; }),
        log(false),
        stage(cache, metrics, log, judge, loaders) {
    stage.replace_allow_list(BinaryAllowList(allow));
    cache.writes.clear();
  }
  RecordingCache cache;
  UnexpectedBinaryMetrics metrics;
  LiveMountTable mounts;
  HostPaths host;
  HostLoaders loaders;
  BinaryJudge judge;
  UnexpectedExecLog log;
  UnexpectedBinaries stage;
};

std::uint32_t own_mntns() {
  struct stat st {};
  ::stat("/proc/self/ns/mnt", &st);
  return static_cast<std::uint32_t>(st.st_ino);
}

// The binary record the kernel sends for an exec of `path` by this process, on the host.
execmond_binary_event record_for(const std::string& path, const char* comm = "tool",
                                 std::uint32_t flags = 0) {
  execmond_binary_event e{};
  e.hdr.type = EXECMOND_EVENT_BINARY;
  e.hdr.timestamp_ns = now_ns(CLOCK_BOOTTIME);
  e.hdr.pid = static_cast<std::uint32_t>(::getpid());
  e.hdr.uid = 1000;
  e.hdr.cgroup_id = 77;
  std::strncpy(e.hdr.comm, comm, sizeof(e.hdr.comm) - 1);
  const FileDescriptor fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  const std::optional<FileFacts> facts = file_facts(fd.get());
  REQUIRE(facts);
  e.binary.ino = facts->ino;
  e.binary.ctime_ns = facts->ctime_ns;
  e.binary.dev = facts->dev;
  e.binary_flags = flags;
  e.ctx.mntns = own_mntns();
  std::string(path).copy(e.path, sizeof(e.path) - 1);
  // Its path inside its filesystem, as the kernel walks it.
  LiveMountTable table("/proc/self/mountinfo");
  const auto location = filesystem_location(table.current(), facts->mount_id, path);
  REQUIRE(location);
  location->fs_path.copy(e.fs_path, sizeof(e.fs_path) - 1);
  return e;
}

execmond_exec_event exec_flagged(const execmond_binary_event& b, std::uint32_t flags,
                                 const char* comm = "tool") {
  execmond_exec_event e{};
  e.hdr = b.hdr;
  std::strncpy(e.hdr.comm, comm, sizeof(e.hdr.comm) - 1);
  e.binary = b.binary;
  e.binary_flags = flags;
  return e;
}

struct Series {
  std::string path, comm, reason;
  bool operator<(const Series& o) const {
    return std::tie(path, comm, reason) < std::tie(o.path, o.comm, o.reason);
  }
};

std::map<Series, double> unexpected_execs(const UnexpectedBinaryMetrics& metrics) {
  std::map<Series, double> counts;
  for (const auto& family : execmond::testing::collect_families(metrics)) {
    if (family.name != "execmond_unexpected_execs_total") continue;
    for (const auto& metric : family.metric) {
      Series series;
      for (const auto& label : metric.label)
        (label.name == "path"   ? series.path
         : label.name == "comm" ? series.comm
                                : series.reason) = label.value;
      counts[series] = metric.counter.value;
    }
  }
  return counts;
}

double scalar(const UnexpectedBinaryMetrics& metrics, const std::string& name) {
  for (const auto& family : execmond::testing::collect_families(metrics))
    if (family.name == name)
      return family.metric.at(0).gauge.value + family.metric.at(0).counter.value;
  FAIL("no family " << name);
  return -1;
}

// Routes spdlog into a string for the life of the object.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::ostream_sink_st>(text_));
    logger->set_pattern("%l %v");
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return text_.str(); }
  std::size_t lines() const {
    const std::string t = text();
    return static_cast<std::size_t>(std::count(t.begin(), t.end(), '\n'));
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream text_;
};

}  // namespace

TEST_CASE("a host file is judged by its host name; the verdict goes to the kernel", "[binaries]") {
  CapturedLog captured;
  Files files;
  Stage s({files.dir + "/ok/*"});
  const auto ok = record_for(files.make("ok/tool"));
  const auto bad = record_for(files.make("bad/sshd"), "sshd");
  CHECK(s.stage.on_binary(ok)->allowed);
  CHECK(s.cache.verdict_of(ok.binary.ino) == EXECMOND_VERDICT_ALLOWED);
  const ExecVerdict* verdict = s.stage.on_binary(bad);
  REQUIRE(verdict);
  CHECK_FALSE(verdict->allowed);
  CHECK(verdict->reason == UnexpectedReason::kNotAllowed);
  CHECK(verdict->path == files.dir + "/bad/sshd");
  CHECK(s.cache.verdict_of(bad.binary.ino) == EXECMOND_VERDICT_UNEXPECTED);
  // Its next execs come flagged UNEXPECTED, no record: counted from the daemon's cache.
  for (int i = 0; i < 4; ++i)
    s.stage.on_exec(exec_flagged(bad, EXECMOND_BINARY_UNEXPECTED, "sshd"));
  s.stage.on_exec(exec_flagged(ok, EXECMOND_BINARY_ALLOWED));
  const auto counts = unexpected_execs(s.metrics);
  CHECK(counts.at({files.dir + "/bad/sshd", "sshd", "not_allowed"}) == 5);
  CHECK(counts.size() == 1);
  // One line per exec up to the file's burst of 5; every line says why and where.
  CHECK(captured.lines() == 5);
  CHECK(captured.text().find("reason=\"not_allowed\" view=\"host\"") != std::string::npos);
  CHECK(captured.text().find("cached=\"yes\"") != std::string::npos);
}

TEST_CASE("the daemon's own executable is expected wherever it lies; a copy is not", "[binaries]") {
  // The YAML parse-bound child is /proc/self/exe: every start and reload runs it.
  CapturedLog captured;
  Files files;
  Stage s({files.dir + "/ok/*"});
  const std::string self = read_link(AT_FDCWD, "/proc/self/exe").value();
  const auto own = record_for(self, "exe");
  const ExecVerdict* verdict = s.stage.on_binary(own);
  REQUIRE(verdict);
  CHECK(verdict->allowed);
  const std::string copy = files.dir + "/bad/copy";
  std::filesystem::create_directories(files.dir + "/bad");
  std::filesystem::copy_file(self, copy);
  const ExecVerdict* copied = s.stage.on_binary(record_for(copy, "exe"));
  REQUIRE(copied);
  CHECK_FALSE(copied->allowed);
  CHECK(captured.lines() == 1);
}

TEST_CASE("an UNEXPECTED exec whose verdict is gone is still counted", "[binaries]") {
  CapturedLog captured;
  Files files;
  Stage s(std::vector<std::string>{});
  auto e = record_for(files.make("x"));
  e.binary.ino += 1'000'000;  // a key the daemon never judged
  s.stage.on_exec(exec_flagged(e, EXECMOND_BINARY_UNEXPECTED, "x"));
  CHECK(unexpected_execs(s.metrics).at({"execmond_evicted", "x", "unverified"}) == 1);
}

TEST_CASE("a file changed within the last 20 ms is judged, not cached", "[binaries]") {
  CapturedLog captured;
  Files files;
  Stage s({files.dir + "/*"}, /*clock_ahead_ns=*/0);
  const auto fresh = record_for(files.make("fresh"));
  CHECK(s.stage.on_binary(fresh)->allowed);
  CHECK(s.cache.writes.empty());
  // Only what was seeded: the loaders and the daemon's own executable.
  CHECK(s.stage.verdicts().size() == s.loaders.loaders().size() + 1);
}

TEST_CASE("deleted and memfd files have their reasons; a file named (deleted) does not",
          "[binaries]") {
  CapturedLog captured;
  Files files;
  Stage s({files.dir + "/**"});
  const std::string named = files.make("x (deleted)");
  CHECK(s.stage.on_binary(record_for(named))->allowed);  // an ordinary name in the list
  Stage strict({"/usr/bin/*"});
  const ExecVerdict* real_name = strict.stage.on_binary(record_for(named, "x"));
  CHECK(real_name->reason == UnexpectedReason::kNotAllowed);
  CHECK(real_name->path == named);
  auto deleted = record_for(files.make("gone"), "gone", EXECMOND_BINARY_DELETED);
  std::string(files.dir + "/gone (deleted)").copy(deleted.path, sizeof(deleted.path) - 1);
  CHECK(s.stage.on_binary(deleted)->reason == UnexpectedReason::kDeleted);
  auto memfd = record_for(files.make("m"), "m", EXECMOND_BINARY_MEMFD | EXECMOND_BINARY_DELETED);
  std::memset(memfd.path, 0, sizeof(memfd.path));
  std::string("/memfd:x (deleted)").copy(memfd.path, sizeof(memfd.path) - 1);
  CHECK(s.stage.on_binary(memfd)->reason == UnexpectedReason::kMemfd);
  const auto counts = unexpected_execs(s.metrics);
  CHECK(counts.at({files.dir + "/gone (deleted)", "gone", "deleted"}) == 1);
  CHECK(counts.at({"/memfd:x (deleted)", "m", "memfd"}) == 1);
}

TEST_CASE("a superblock the host has no mount of is a private mount, whatever its path",
          "[binaries]") {
  CapturedLog captured;
  Files files;
  Stage s({"/usr/bin/*"});
  auto e = record_for(files.make("t"), "true");
  e.binary.dev = kernel_dev(0, 0xffff0);  // a user's private tmpfs
  std::memset(e.path, 0, sizeof(e.path));
  std::string("/usr/bin/true").copy(e.path, sizeof(e.path) - 1);  // what the process saw
  e.ctx.flags = EXECMOND_CTX_USERNS | EXECMOND_CTX_USERNS_UNPRIVILEGED | EXECMOND_CTX_MNTNS;
  const ExecVerdict* verdict = s.stage.on_binary(e);
  CHECK_FALSE(verdict->allowed);
  CHECK(verdict->reason == UnexpectedReason::kPrivateMount);
  CHECK(verdict->view == JudgingView::kHost);
}

TEST_CASE("a rootful container's exec is judged by its own path, cached in its view only",
          "[binaries]") {
  CapturedLog captured;
  Files files;
  Stage s({"/usr/bin/*"});
  auto e = record_for(files.make("payload"), "payload");
  std::memset(e.path, 0, sizeof(e.path));
  std::string("/usr/bin/payload").copy(e.path, sizeof(e.path) - 1);  // the image's path
  e.ctx.flags = EXECMOND_CTX_MNTNS;
  e.ctx.mntns = 4026532999;
  e.binary.view = 4026532999;
  const ExecVerdict* verdict = s.stage.on_binary(e);
  CHECK(verdict->allowed);
  CHECK(verdict->view == JudgingView::kProcess);
  CHECK(s.cache.verdict_of(e.binary.ino) == EXECMOND_VERDICT_ALLOWED);
  // The same identity from the host's view is judged again, by its host name.
  e.binary.view = 0;
  e.ctx.flags = 0;
  e.ctx.mntns = own_mntns();
  const ExecVerdict* from_host = s.stage.on_binary(e);
  CHECK_FALSE(from_host->allowed);
  CHECK(from_host->path == files.dir + "/payload");
  // The kernel chose another view than the daemon's rule: judged, never cached.
  const std::size_t writes = s.cache.writes.size();
  auto mismatch = record_for(files.make("other"), "other");
  mismatch.binary.view = 4026532999;
  s.stage.on_binary(mismatch);
  CHECK(s.cache.writes.size() == writes);
}

TEST_CASE("the host's loaders are taught to the kernel; a loader is judged by its program",
          "[binaries][loader]") {
  CapturedLog captured;
  Files files;
  Stage s({"/usr/bin/*", "/usr/lib/**"});
  REQUIRE_FALSE(s.loaders.loaders().empty());
  s.stage.replace_allow_list(BinaryAllowList({"/usr/bin/*", "/usr/lib/**"}));
  const HostLoader& loader = s.loaders.loaders().front();
  CHECK(s.cache.verdict_of(loader.facts.ino) == EXECMOND_VERDICT_LOADER);
  // What the kernel then sends for an exec of it: argv and cwd, no names.
  const auto with_args = [&](std::vector<std::string> argv) {
    auto e = record_for(loader.path, "ld-linux", EXECMOND_BINARY_LOADER);
    std::memset(e.path, 0, sizeof(e.path));
    std::memset(e.fs_path, 0, sizeof(e.fs_path));
    std::string args;
    for (const std::string& arg : argv) args += arg + '\0';
    args.copy(e.args, sizeof(e.args));
    e.args_size = static_cast<std::uint32_t>(args.size());
    const std::string cwd = fs::current_path();
    cwd.copy(e.cwd, sizeof(e.cwd) - 1);
    return e;
  };
  const std::string evil = files.make("x/evil");
  const ExecVerdict* verdict = s.stage.on_binary(with_args({loader.path, evil}));
  CHECK_FALSE(verdict->allowed);
  CHECK(verdict->reason == UnexpectedReason::kLoader);
  CHECK(verdict->path == evil);
  CHECK(verdict->program_given == evil);
  // --argv0 names nothing that runs.
  verdict = s.stage.on_binary(with_args({loader.path, "--argv0", "/usr/bin/true", evil}));
  CHECK(verdict->path == evil);
  // ldd's calls: the program is only mapped.
  CHECK(s.stage.on_binary(with_args({loader.path, "--verify", evil}))->allowed);
  CHECK(s.stage.on_binary(with_args({loader.path, "--list", "/usr/bin/true"}))->allowed);
  CHECK(s.stage.on_binary(with_args({loader.path, "/usr/bin/true"}))->allowed);
  // A program searched in the library path cannot be followed.
  CHECK(s.stage.on_binary(with_args({loader.path, "--library-path", files.dir + "/x", "evil"}))
            ->reason == UnexpectedReason::kLoader);
  // Cut before the program: not known, so not allowed.
  auto cut = with_args({loader.path, "--argv0", "x", "/usr/bin/tr"});
  cut.ctx.flags |= EXECMOND_CTX_ARGS_TRUNCATED;
  CHECK(s.stage.on_binary(cut)->reason == UnexpectedReason::kLoader);
}

// [host-namespaces]: it reads its own process through /proc as the daemon reads an
// exec's, which needs the machine's initial PID namespace (not a container's).
TEST_CASE("a script's file is found as the kernel found it; its interpreter is judged too",
          "[binaries][script][host-namespaces]") {
  CapturedLog captured;
  Files files;
  const std::string sh = fs::canonical("/bin/sh");
  Stage s({files.dir + "/allowed/*", sh});
  const std::string script = files.make("allowed/s.sh", "#!/bin/sh\nexit 0\n");
  fs::create_directories(files.dir + "/deep/a/b");
  fs::create_directory_symlink(files.dir + "/deep/a/b", files.dir + "/link");
  const auto script_exec = [&](const std::string& given, const std::string& interpreter) {
    auto e = record_for(interpreter, "s.sh", EXECMOND_BINARY_SCRIPT);
    given.copy(e.script_path, sizeof(e.script_path) - 1);
    const std::string cwd = fs::current_path();
    cwd.copy(e.cwd, sizeof(e.cwd) - 1);
    return e;
  };
  const ExecVerdict* verdict = s.stage.on_binary(script_exec(script, sh));
  CHECK(verdict->allowed);
  CHECK(verdict->script_file.name == script);
  CHECK(verdict->method == ResolutionMethod::kProcessWalk);
  // Through a symlink and "..": where the kernel went (deep/a), not where folding goes.
  files.make("deep/a/s.sh", "#!/bin/sh\n");
  verdict = s.stage.on_binary(script_exec(files.dir + "/link/../s.sh", sh));
  CHECK_FALSE(verdict->allowed);
  CHECK(verdict->path == files.dir + "/deep/a/s.sh");
  // The script is allowed, its interpreter is not (row 8).
  const std::string interp = files.make("tmpx/interp");
  const std::string script2 = files.make("allowed/s2.sh", "#!" + interp + "\n");
  verdict = s.stage.on_binary(script_exec(script2, interp));
  CHECK_FALSE(verdict->allowed);
  CHECK(verdict->path == interp);
  CHECK(verdict->script_file.allowed);
  // A file whose #! names another interpreter than the one that ran: not the file the
  // kernel read (replaced since).
  verdict = s.stage.on_binary(script_exec(script, interp));
  CHECK(verdict->script_file.reason == UnexpectedReason::kUnverified);
  // The exec is named by the part known for what it is: the interpreter, not allowed.
  CHECK(verdict->reason == UnexpectedReason::kNotAllowed);
  CHECK(verdict->path == interp);
  // Cut by the kernel: truncated, never judged by the cut string.
  auto cut = script_exec(script, sh);
  cut.binary_flags |= EXECMOND_BINARY_SCRIPT_TRUNCATED;
  CHECK(s.stage.on_binary(cut)->reason == UnexpectedReason::kTruncated);
  // The process is gone and its view was not the host's own: unverified.
  auto gone = script_exec(script, sh);
  gone.hdr.pid = 0x3ffffff0;
  gone.ctx.flags = EXECMOND_CTX_MNTNS | EXECMOND_CTX_USERNS | EXECMOND_CTX_USERNS_UNPRIVILEGED;
  CHECK(s.stage.on_binary(gone)->reason == UnexpectedReason::kUnverified);
  // Gone, but on the host: the same walk from the host's root.
  gone.ctx.flags = 0;
  verdict = s.stage.on_binary(gone);
  CHECK(verdict->allowed);
  CHECK(verdict->method == ResolutionMethod::kHostWalk);
}

TEST_CASE("a script the kernel hook saw is named through the host's mount table",
          "[binaries][script]") {
  CapturedLog captured;
  Files files;
  const std::string sh = fs::canonical("/bin/sh");
  Stage s({"/usr/bin/*", sh});
  const std::string script = files.make("job.sh", "#!/bin/sh\n");
  auto e = record_for(sh, "job.sh", EXECMOND_BINARY_SCRIPT | EXECMOND_BINARY_SCRIPT_SEEN);
  const auto seen = record_for(script);  // the hook's identity and in-filesystem path
  e.script = seen.binary;
  std::string(seen.fs_path).copy(e.script_path, sizeof(e.script_path) - 1);
  const ExecVerdict* verdict = s.stage.on_binary(e);
  CHECK(verdict->method == ResolutionMethod::kKernelHook);
  CHECK(verdict->script_file.name == script);
  CHECK(verdict->reason == UnexpectedReason::kNotAllowed);
  // The same in-filesystem path on a filesystem the host does not mount there (/opt on
  // its own partition holding usr/bin/job.sh) is never /usr/bin/job.sh.
  e.script.dev = kernel_dev(8, 0xfff17);
  std::memset(e.script_path, 0, sizeof(e.script_path));
  std::string("/usr/bin/job.sh").copy(e.script_path, sizeof(e.script_path) - 1);
  verdict = s.stage.on_binary(e);
  CHECK_FALSE(verdict->allowed);
  CHECK(verdict->reason == UnexpectedReason::kPrivateMount);
}

namespace {

class FakeContent : public ContentJudge {
 public:
  ContentAnswer judge(const ContentQuestion& question) override {
    asked.push_back(question.key.ino);
    return answer;
  }
  void forget_pending() override { ++forgotten; }
  ContentAnswer answer{ContentAnswer::Kind::kPending, {}};
  std::vector<std::uint64_t> asked;
  int forgotten = 0;
};

}  // namespace

TEST_CASE("a pending content verdict: execs wait, are counted once when it arrives",
          "[binaries][content]") {
  CapturedLog captured;
  Files files;
  Stage s({files.dir + "/*"});
  FakeContent content;
  s.stage.set_content_judge(&content);
  const auto e = record_for(files.make("new"), "new");
  CHECK(s.stage.on_binary(e)->allowed);  // by name; the content is asked
  CHECK(content.asked == std::vector<std::uint64_t>{e.binary.ino});
  CHECK(s.cache.verdict_of(e.binary.ino) == EXECMOND_VERDICT_PENDING);
  for (int i = 0; i < 9; ++i) s.stage.on_exec(exec_flagged(e, EXECMOND_BINARY_PENDING, "new"));
  s.stage.on_exec(exec_flagged(e, EXECMOND_BINARY_PENDING, "renamed"));
  CHECK(s.stage.pending_files() == 1);
  CHECK(unexpected_execs(s.metrics).empty());
  s.stage.on_content_verdict(e.binary,
                             {ContentAnswer::Kind::kUnexpected, UnexpectedReason::kModified});
  CHECK(s.stage.pending_files() == 0);
  CHECK(s.cache.verdict_of(e.binary.ino) == EXECMOND_VERDICT_UNEXPECTED);
  auto counts = unexpected_execs(s.metrics);
  CHECK(counts.at({files.dir + "/new", "new", "modified"}) == 10);
  CHECK(counts.at({files.dir + "/new", "renamed", "modified"}) == 1);
  // A PENDING exec still in flight after the answer: counted by the final verdict, once.
  s.stage.on_exec(exec_flagged(e, EXECMOND_BINARY_PENDING, "new"));
  s.stage.on_content_verdict(e.binary, {ContentAnswer::Kind::kAllowed, {}});  // late, ignored
  counts = unexpected_execs(s.metrics);
  CHECK(counts.at({files.dir + "/new", "new", "modified"}) == 11);

  // Allowed by content: nothing counted; never answered: counted by the name's verdict.
  const auto later = record_for(files.make("later"), "later");
  s.stage.on_binary(later);
  s.stage.on_content_verdict(later.binary, {ContentAnswer::Kind::kAllowed, {}});
  CHECK(s.cache.verdict_of(later.binary.ino) == EXECMOND_VERDICT_ALLOWED);
  const auto silent = record_for(files.make("silent"), "silent");
  s.stage.on_binary(silent);
  s.stage.tick(silent.hdr.timestamp_ns + UnexpectedBinaries::kContentDeadlineNs + 1);
  CHECK(s.stage.pending_files() == 0);
  CHECK(unexpected_execs(s.metrics).size() == 2);
  // A new list voids pending questions, and counts what waited.
  s.stage.on_binary(record_for(files.make("void"), "void"));
  s.stage.replace_allow_list(BinaryAllowList({"/usr/bin/*"}));
  CHECK(content.forgotten == 1);
  CHECK(s.stage.pending_files() == 0);
}

TEST_CASE("with the section off, nothing is judged and flagged execs are ignored", "[binaries]") {
  CapturedLog captured;
  Files files;
  Stage s(std::vector<std::string>{});
  const auto e = record_for(files.make("x"));
  s.stage.replace_allow_list(std::nullopt);
  CHECK_FALSE(s.stage.judging());
  CHECK(s.stage.on_binary(e) == nullptr);
  s.stage.on_exec(exec_flagged(e, EXECMOND_BINARY_UNEXPECTED));
  CHECK(unexpected_execs(s.metrics).empty());
  CHECK(s.cache.clears == 2);  // the constructor's list, then off
}

TEST_CASE("evicting a verdict erases the kernel's copy first", "[binaries]") {
  VerdictCache cache(4);
  std::vector<std::uint64_t> evicted;
  for (std::uint64_t ino = 1; ino <= 6; ++ino) {
    execmond_binary_id key{};
    key.ino = ino;
    CachedVerdict& entry =
        cache.insert(key, [&](const CachedVerdict& old) { evicted.push_back(old.key.ino); });
    entry.path = "/x/" + std::to_string(ino);
  }
  CHECK(cache.size() == 4);
  CHECK(evicted.size() == 2);
  for (std::uint64_t ino = 1; ino <= 6; ++ino) {
    execmond_binary_id key{};
    key.ino = ino;
    const bool was_evicted = std::find(evicted.begin(), evicted.end(), ino) != evicted.end();
    CHECK((cache.find(key) == nullptr) == was_evicted);
  }
  execmond_binary_id gone{};
  gone.ino = 6;
  cache.erase(gone);
  CHECK(cache.find(gone) == nullptr);
  CHECK(cache.size() == 3);
}

TEST_CASE("the verdict cache keeps every key findable through deletions and reuse", "[binaries]") {
  VerdictCache cache(512);
  std::map<std::uint64_t, bool> present;
  std::uint64_t seed = 12345;
  for (int step = 0; step < 20000; ++step) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    execmond_binary_id key{};
    key.ino = (seed >> 33) % 700;
    key.dev = 8;
    if ((seed >> 20) % 3 == 0) {
      cache.erase(key);
      present[key.ino] = false;
    } else {
      cache.insert(key, [&](const CachedVerdict& old) { present[old.key.ino] = false; }).path = "p";
      present[key.ino] = true;
    }
  }
  std::size_t live = 0;
  for (const auto& [ino, is_present] : present) {
    execmond_binary_id key{};
    key.ino = ino;
    key.dev = 8;
    CHECK((cache.find(key) != nullptr) == is_present);
    live += is_present;
  }
  CHECK(cache.size() == live);
}

TEST_CASE("one uid, comm or cgroup cannot take every series; the rest is exact overflow",
          "[binaries][budget]") {
  UnexpectedBinaryMetrics metrics;
  // A flood of 5000 distinct paths by uid 1000 from one cgroup.
  for (int i = 0; i < 5000; ++i)
    metrics.record_exec("/tmp/f/" + std::to_string(i),
                        CommName(std::string_view("x" + std::to_string(i))), "not_allowed",
                        {1000, 55});
  CHECK(metrics.series_count() == UnexpectedBinaryMetrics::kMaxSeriesPerOwner);
  CHECK(metrics.overflow_execs() == 5000 - UnexpectedBinaryMetrics::kMaxSeriesPerOwner);
  // Another user still gets a series of its own, as does a series already made.
  metrics.record_exec("/tmp/payload", CommName(std::string_view("payload")), "not_allowed", {0, 1});
  metrics.record_exec("/tmp/f/0", CommName(std::string_view("x0")), "not_allowed", {1000, 55});
  const auto counts = unexpected_execs(metrics);
  CHECK(counts.at({"/tmp/payload", "payload", "not_allowed"}) == 1);
  CHECK(counts.at({"/tmp/f/0", "x0", "not_allowed"}) == 2);
  CHECK(counts.at({"execmond_overflow", "execmond_overflow", "execmond_overflow"}) ==
        5000 - UnexpectedBinaryMetrics::kMaxSeriesPerOwner);
  // One name across many users and cgroups: its quarter too.
  UnexpectedBinaryMetrics by_comm;
  for (int i = 0; i < 400; ++i)
    by_comm.record_exec("/tmp/c/" + std::to_string(i), CommName(std::string_view("same")),
                        "not_allowed",
                        {static_cast<std::uint32_t>(i), static_cast<std::uint64_t>(i)});
  CHECK(by_comm.series_count() == UnexpectedBinaryMetrics::kMaxSeriesPerOwner);
  // The root cgroup is no unit's: everything of a host without systemd is there.
  UnexpectedBinaryMetrics root_cgroup;
  for (int i = 0; i < 600; ++i)
    root_cgroup.record_exec("/tmp/r/" + std::to_string(i),
                            CommName(std::string_view("r" + std::to_string(i))), "not_allowed",
                            {static_cast<std::uint32_t>(i), kRootCgroupId});
  CHECK(root_cgroup.series_count() == 600);
  // And the table's bound holds for many owners together.
  UnexpectedBinaryMetrics many;
  for (int i = 0; i < 3000; ++i)
    many.record_exec("/tmp/m/" + std::to_string(i),
                     CommName(std::string_view("n" + std::to_string(i))), "not_allowed",
                     {static_cast<std::uint32_t>(i), static_cast<std::uint64_t>(i)});
  CHECK(many.series_count() == UnexpectedBinaryMetrics::kMaxSeries);
  CHECK(many.overflow_execs() == 3000 - UnexpectedBinaryMetrics::kMaxSeries);
  CHECK(scalar(many, "execmond_unexpected_overflow_execs_total") ==
        3000 - UnexpectedBinaryMetrics::kMaxSeries);
  CHECK(scalar(many, "execmond_unexpected_series") == UnexpectedBinaryMetrics::kMaxSeries);
}

TEST_CASE("after a flood of 5000 paths a new one is logged within a second", "[binaries][budget]") {
  LogBudget budget;
  std::vector<TokenBucket> files(5002);
  const std::uint64_t start = 100 * kSecond;
  int logged = 0;
  // 5000 new files by uid 1000 in one second, from one cgroup, random names.
  for (int i = 0; i < 5000; ++i)
    logged += budget.admit(files[i], 1000, CommName(std::string_view("r" + std::to_string(i))), 9,
                           start + i * (kSecond / 5000));
  // Its burst, and 10 a second refilled.
  CHECK(logged >= LogBudget::Limits{}.owner_burst + 9);
  CHECK(logged <= LogBudget::Limits{}.owner_burst + 10);
  // During the flood, another user's new binary: its own budget.
  CHECK(
      budget.admit(files[5000], 0, CommName(std::string_view("payload")), 1, start + kSecond / 2));
  // The flood ends; 0.1 s later the same user's next new binary is logged.
  CHECK(budget.admit(files[5001], 1000, CommName(std::string_view("payload")), 9,
                     start + kSecond + kSecond / 10));
  const std::optional<LogBudget::Summary> summary = budget.summary(start + 2 * kSecond);
  REQUIRE(summary);
  CHECK(summary->suppressed == 5000 - static_cast<std::uint64_t>(logged));
  CHECK(summary->by_uid.front().first == 1000);
  CHECK_FALSE(budget.summary(start + 2 * kSecond));  // once a second at most
}

TEST_CASE("a new file's first line held back by a flood is written when its owner may",
          "[binaries][budget]") {
  CapturedLog captured;
  Files files;
  Stage s(std::vector<std::string>{});
  // A flood of distinct files by one uid from one cgroup.
  std::vector<std::string> paths;
  for (int i = 0; i < 200; ++i) paths.push_back(files.make("f" + std::to_string(i)));
  const std::uint64_t start = now_ns(CLOCK_BOOTTIME);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    auto e = record_for(paths[i], "flood");
    e.hdr.uid = 4242;
    e.hdr.cgroup_id = 99;
    e.hdr.timestamp_ns = start + i * 100'000;  // 10,000 a second
    s.stage.on_binary(e);
  }
  const auto exec_lines = [&] {
    const std::string text = captured.text();
    std::size_t lines = 0;
    for (std::size_t at = 0; (at = text.find("msg=\"unexpected exec\"", at)) != std::string::npos;
         ++at)
      ++lines;
    return lines;
  };
  const std::size_t written_during_flood = exec_lines();
  CHECK(written_during_flood < 80);
  CHECK(s.stage.held_lines() == UnexpectedBinaries::kMaxHeldLines);
  // Its payload, right after: held too (no token yet) ...
  const std::string payload = files.make("payload");
  auto p = record_for(payload, "payload");
  p.hdr.uid = 4242;
  p.hdr.cgroup_id = 99;
  p.hdr.timestamp_ns = start + 200 * 100'000 + 1'000;
  s.stage.on_binary(p);
  CHECK(captured.text().find("payload") == std::string::npos);
  // ... and the first line written 0.1 s later, the newest first.
  s.stage.tick(p.hdr.timestamp_ns + 100'000'000);
  const std::string text = captured.text();
  const std::size_t line = text.find("path=\"" + payload + "\"");
  REQUIRE(line != std::string::npos);
  CHECK(text.find("held_ms=", line) != std::string::npos);
  CHECK(exec_lines() == written_during_flood + 1);
  // The rest held back is summed by uid once a second.
  CHECK(text.find("by_uid=\"4242:") != std::string::npos);
  // Every exec counted, every line either written, held or counted as held back.
  CHECK(unexpected_execs(s.metrics).size() == paths.size() + 1);
}

TEST_CASE("one file logs a burst, then a line a minute", "[binaries][budget]") {
  LogBudget budget;
  TokenBucket file;
  int logged = 0;
  for (int i = 0; i < 50; ++i)
    logged += budget.admit(file, 0, CommName(std::string_view("x")), 1, kSecond);
  CHECK(logged == 5);
  CHECK_FALSE(budget.admit(file, 0, CommName(std::string_view("x")), 1, 30 * kSecond));
  CHECK(budget.admit(file, 0, CommName(std::string_view("x")), 1, 62 * kSecond));
}

TEST_CASE("labels: escaped paths and comms, a bounded reason, never the overflow value",
          "[binaries]") {
  UnexpectedBinaryMetrics metrics;
  metrics.record_exec(std::string("/tmp/a\nb\xff\\", 10), CommName(std::string_view("c\x01")),
                      "not_allowed");
  metrics.record_exec("/tmp/\xc3\xa9", CommName(std::string_view("x")), "private_mount");
  const auto counts = unexpected_execs(metrics);
  CHECK(counts.at({"/tmp/a\\x0ab\\xff\\\\", "c\\x01", "not_allowed"}) == 1);
  CHECK(counts.at({"/tmp/\xc3\xa9", "x", "private_mount"}) == 1);
  CHECK(kOverflowPathLabel.front() != '/');
  CHECK(UnexpectedExecLabels(UnexpectedExecKey("/x", CommName(), "memfd")).path.front() == '/');
  for (const UnexpectedReason reason : kUnexpectedReasons) {
    CHECK(reason_from_label(reason_label(reason)) == reason);
    CHECK(reason_label(reason).size() < UnexpectedExecKey::kReasonCapacity);
  }
  CHECK(kEvictedPath != kOverflowPathLabel);
}

}  // namespace execmond

namespace execmond {
namespace {

// A content judge that knows every file's digest at once, or only later.
class DigestingContent : public ContentJudge {
 public:
  ContentAnswer judge(const ContentQuestion& question) override {
    ContentAnswer answer(
        question.name_allowed ? ContentAnswer::Kind::kAllowed : ContentAnswer::Kind::kUnexpected,
        question.name_reason);
    if (known_at_once) answer.sha256 = digest;
    return answer;
  }
  bool known_at_once = true;
  std::string digest = std::string(64, 'a');
};

}  // namespace

TEST_CASE("an unexpected file's digest is in its log line and its info metric",
          "[binaries][content]") {
  CapturedLog captured;
  Files files;
  Stage s({files.dir + "/ok/*"});
  DigestingContent content;
  UnexpectedFileInfo info;
  s.stage.set_content_judge(&content);
  s.stage.set_unexpected_files(&info);
  const auto bad = record_for(files.make("bad/sshd"), "sshd");
  CHECK_FALSE(s.stage.on_binary(bad)->allowed);
  CHECK(captured.text().find("sha256=\"" + content.digest + "\"") != std::string::npos);
  // Its cached verdict keeps it for the next lines.
  s.stage.on_exec(exec_flagged(bad, EXECMOND_BINARY_UNEXPECTED, "sshd"));
  CHECK(captured.lines() == 2);
  const std::string text = captured.text();
  CHECK(text.find("sha256=\"" + content.digest + "\"", text.find('\n')) != std::string::npos);
  auto families = execmond::testing::families_of(info);
  REQUIRE(families.at(0).metric.size() == 1);
  CHECK(families.at(0).metric.at(0).label.at(0).value == files.dir + "/bad/sshd");
  CHECK(families.at(0).metric.at(0).label.at(1).value == content.digest);

  // A digest that comes after the verdict: "pending" in the exec's line, then a line of
  // its own, and the metric.
  content.known_at_once = false;
  const auto later = record_for(files.make("bad/later"), "later");
  CHECK_FALSE(s.stage.on_binary(later)->allowed);
  CHECK(captured.text().find("sha256=\"pending\"") != std::string::npos);
  const std::string digest(64, 'b');
  s.stage.on_content_hash(
      later.binary,
      ContentAnswer(ContentAnswer::Kind::kUnexpected, UnexpectedReason::kNotAllowed, digest),
      files.dir + "/bad/later");
  CHECK(captured.text().find("msg=\"unexpected file content\" path=\"" + files.dir +
                             "/bad/later\" reason=\"not_allowed\" sha256=\"" + digest + "\"") !=
        std::string::npos);
  families = execmond::testing::families_of(info);
  CHECK(families.at(0).metric.size() == 2);
  // An allowed file's digest is kept, not logged.
  const std::size_t lines = captured.lines();
  const auto ok = record_for(files.make("ok/tool"));
  CHECK(s.stage.on_binary(ok)->allowed);
  s.stage.on_content_hash(ok.binary, ContentAnswer(ContentAnswer::Kind::kAllowed, {}, digest),
                          files.dir + "/ok/tool");
  CHECK(captured.lines() == lines);
  CHECK(execmond::testing::families_of(info).at(0).metric.size() == 2);
}

TEST_CASE("with the container label, unexpected series name the exec's container",
          "[binaries][content]") {
  UnexpectedBinaryMetrics metrics(/*container_label=*/true);
  const CommName comm("sleep");
  metrics.count(metrics.series_for("/x/sleep", comm, "drift", {}, "podman:0123456789ab"));
  metrics.count(metrics.series_for("/x/sleep", comm, "drift", {}, "podman:0123456789ab"));
  metrics.count(metrics.series_for("/x/sleep", comm, "drift", {}, "docker:ba9876543210"));
  std::map<std::string, double> by_container;
  for (const auto& family : execmond::testing::collect_families(metrics)) {
    if (family.name != "execmond_unexpected_execs_total") continue;
    for (const auto& metric : family.metric) {
      REQUIRE(metric.label.size() == 4);
      CHECK(metric.label.at(1).name == "container");
      by_container[metric.label.at(1).value] = metric.counter.value;
    }
  }
  CHECK(by_container ==
        std::map<std::string, double>{{"podman:0123456789ab", 2}, {"docker:ba9876543210", 1}});
  // Without it, no container label at all (its label set is fixed by `labels:`).
  UnexpectedBinaryMetrics plain;
  plain.count(plain.series_for("/x/sleep", comm, "drift", {}, "podman:0123456789ab"));
  for (const auto& family : execmond::testing::collect_families(plain))
    if (family.name == "execmond_unexpected_execs_total")
      CHECK(family.metric.at(0).label.size() == 3);
}

}  // namespace execmond

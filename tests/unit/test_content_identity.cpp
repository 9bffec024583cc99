// SPDX-License-Identifier: Apache-2.0
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "binaries/content_identity.h"
#include "binaries/content_metrics.h"
#include "binaries/content_verdicts.h"
#include "binaries/host_root.h"
#include "metric_families.h"
#include "temp_tree.h"

namespace execmond {
namespace {

// md5("#!/bin/sh\necho tool\n") etc. are computed by the worker; the database is
// written with the md5 the test computes through the same digester.
FileVersion version_of_fd(int fd) {
  struct statx seen {};
  REQUIRE(::statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_CTIME, &seen) == 0);
  return FileVersion{
      kernel_device_number(seen.stx_dev_major, seen.stx_dev_minor), seen.stx_ino,
      static_cast<std::uint64_t>(seen.stx_ctime.tv_sec) * 1'000'000'000 + seen.stx_ctime.tv_nsec};
}

FileVersion version_of(const std::string& path) {
  const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd);
  return version_of_fd(fd.get());
}

ContentDigest digest_of(const std::string& path) {
  const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  FileDigester digester;
  return digester.digest(fd.get(), [](std::size_t) { return true; }).digest;
}

// The reader thread of a test: what the stage posts runs when the test drains it.
class Reader {
 public:
  void post(std::function<void()> task) {
    const std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
    posted_.notify_all();
  }
  // Runs posted tasks until `done` or 20 s.
  template <typename Done>
  bool run_until(Done&& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done()) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        if (!posted_.wait_until(lock, deadline, [&] { return !tasks_.empty(); })) return false;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
    return true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable posted_;
  std::deque<std::function<void()>> tasks_;
};

struct Stage {
  explicit Stage(const TempTree& tree, ContentIdentity::Settings settings = {})
      : root(open_root(tree.root())),
        identity(
            root.get(), [this](std::function<void()> task) { reader.post(std::move(task)); },
            [this](ContentOutcome&& answer) { answers[answer.ticket] = std::move(answer); },
            [this](ContentOutcome&& answer) { hashes[answer.ticket] = std::move(answer); },
            known_package_databases(), settings) {}

  ContentQuery query(std::uint64_t ticket, const std::string& host_path, bool admitted) {
    ContentQuery q;
    q.ticket = ticket;
    q.host_path = host_path;
    q.version = version_of(tree_root + host_path);
    q.path_admitted = admitted;
    return q;
  }
  // The answer to `ticket`, waited for.
  ContentOutcome answer(std::uint64_t ticket) {
    REQUIRE(reader.run_until([&] { return answers.count(ticket) != 0; }));
    return answers.at(ticket);
  }
  ContentOutcome hashed(std::uint64_t ticket) {
    REQUIRE(reader.run_until([&] { return hashes.count(ticket) != 0; }));
    return hashes.at(ticket);
  }

  std::string tree_root;
  FileDescriptor root;
  Reader reader;
  std::map<std::uint64_t, ContentOutcome> answers, hashes;
  ContentIdentity identity;
};

using Kind = ContentDecision::Kind;
using Reason = ContentDecision::Reason;
using Grounds = ContentDecision::Grounds;

void write_packages(const TempTree& tree, const std::string& md5sums) {
  tree.file("var/lib/dpkg/info/tools.md5sums", md5sums);
  tree.file("var/lib/dpkg/info/tools.list", "/usr\n/usr/bin\n/usr/bin/tool\n/usr/sbin/runc\n");
  tree.file("var/lib/dpkg/status", "Package: tools\n");
  tree.file("var/lib/dpkg/lock", "");
  tree.directory("var/lib/dpkg/updates");
}

}  // namespace

TEST_CASE("decided at once by path; the digest follows for the log", "[content][identity]") {
  TempTree tree;
  tree.file("usr/local/bin/tool", "#!/bin/sh\necho tool\n");
  Stage stage(tree);
  stage.tree_root = tree.root();
  stage.identity.configure({"/usr/local/bin/*"}, false);
  const auto now = stage.identity.judge(stage.query(1, "/usr/local/bin/tool", true));
  REQUIRE(now);
  CHECK(now->decision.kind == Kind::allowed);
  CHECK(now->decision.grounds == Grounds::path);
  CHECK_FALSE(now->digest);
  const auto later = stage.hashed(1);
  REQUIRE(later.digest);
  CHECK(later.digest->sha256 == digest_of(tree.path("usr/local/bin/tool")).sha256);
  CHECK(later.decision.kind == Kind::allowed);
  CHECK(stage.answers.empty());
}

TEST_CASE("a sha256: entry admits its content anywhere; one byte changed does not",
          "[content][identity]") {
  TempTree tree;
  tree.file("opt/vendor/agent", std::string(100'000, 'v'));
  tree.file("tmp/copy", std::string(100'000, 'v'));
  tree.file("tmp/changed", std::string(99'999, 'v') + "w");
  Stage stage(tree);
  stage.tree_root = tree.root();
  stage.identity.configure(
      {"/usr/bin/*", "sha256:" + digest_of(tree.path("opt/vendor/agent")).sha256.hex()}, false);
  std::uint64_t ticket = 1;
  for (const char* path : {"/opt/vendor/agent", "/tmp/copy"}) {
    CHECK_FALSE(stage.identity.judge(stage.query(ticket, path, false)));
    const auto answer = stage.answer(ticket++);
    CHECK(answer.decision.kind == Kind::allowed);
    CHECK(answer.decision.grounds == Grounds::content);
    CHECK(answer.digest);
  }
  CHECK_FALSE(stage.identity.judge(stage.query(ticket, "/tmp/changed", false)));
  const auto changed = stage.answer(ticket);
  CHECK(changed.decision.kind == Kind::unexpected);
  CHECK(changed.decision.reason == Reason::path);
  CHECK(changed.digest);
}

TEST_CASE("packaged: the package's content is allowed, one byte changed is modified",
          "[content][identity]") {
  TempTree tree;
  tree.file("usr/bin/tool", "#!/bin/sh\necho tool\n");
  tree.file("usr/bin/stranger", "#!/bin/sh\necho stranger\n");
  write_packages(tree, digest_of(tree.path("usr/bin/tool")).md5.hex() + "  usr/bin/tool\n");
  Stage stage(tree);
  stage.tree_root = tree.root();
  stage.identity.configure({"/usr/bin/*"}, true);
  // The first judgement may come before the database is loaded: it waits for it.
  CHECK_FALSE(stage.identity.judge(stage.query(1, "/usr/bin/tool", true)));
  auto answer = stage.answer(1);
  CHECK(answer.decision.kind == Kind::allowed);
  CHECK(answer.decision.grounds == Grounds::package);
  CHECK(answer.decision.package == "tools");
  // A stranger among packaged files, whatever the glob says.
  const auto stranger = stage.identity.judge(stage.query(2, "/usr/bin/stranger", true));
  REQUIRE(stranger);
  CHECK(stranger->decision.reason == Reason::unpackaged);
  // One byte changed in place (restored after, as the integration test does).
  ::usleep(30'000);
  tree.file("usr/bin/tool", "#!/bin/sh\necho tooL\n");
  CHECK_FALSE(stage.identity.judge(stage.query(3, "/usr/bin/tool", true)));
  answer = stage.answer(3);
  CHECK(answer.decision.kind == Kind::unexpected);
  CHECK(answer.decision.reason == Reason::modified);
  CHECK(answer.decision.package == "tools");
  CHECK(stage.identity.stats().packages->stats().files == 1);
}

TEST_CASE("an upgrade in progress is held, and judged by the new database when it ends",
          "[content][identity]") {
  TempTree tree;
  tree.file("usr/bin/tool", "version 1\n");
  write_packages(tree, digest_of(tree.path("usr/bin/tool")).md5.hex() + "  usr/bin/tool\n");
  Stage stage(tree);
  stage.tree_root = tree.root();
  stage.identity.configure({}, true);
  CHECK_FALSE(stage.identity.judge(stage.query(1, "/usr/bin/tool", false)));
  CHECK(stage.answer(1).decision.kind == Kind::allowed);
  const auto held_before = stage.identity.stats().held_total;  // 1 if the load was slower

  // dpkg takes its lock and unpacks version 2; its checksum is recorded later.
  const FileDescriptor lock(::open(tree.path("var/lib/dpkg/lock").c_str(), O_RDWR | O_CLOEXEC));
  struct flock hold {};
  hold.l_type = F_WRLCK;
  hold.l_whence = SEEK_SET;
  REQUIRE(::fcntl(lock.get(), F_OFD_SETLK, &hold) == 0);
  tree.file("usr/bin/tool.dpkg-new", "version 2\n");
  REQUIRE(::rename(tree.path("usr/bin/tool.dpkg-new").c_str(), tree.path("usr/bin/tool").c_str()) ==
          0);
  ::usleep(30'000);
  CHECK_FALSE(stage.identity.judge(stage.query(2, "/usr/bin/tool", false)));
  // Hashed, mismatched, held: no answer while dpkg runs.
  REQUIRE(stage.reader.run_until([&] { return stage.identity.stats().held == 1; }));
  CHECK(stage.answers.count(2) == 0);
  tree.file("var/lib/dpkg/info/tools.md5sums.new",
            digest_of(tree.path("usr/bin/tool")).md5.hex() + "  usr/bin/tool\n");
  REQUIRE(::rename(tree.path("var/lib/dpkg/info/tools.md5sums.new").c_str(),
                   tree.path("var/lib/dpkg/info/tools.md5sums").c_str()) == 0);
  hold.l_type = F_UNLCK;
  REQUIRE(::fcntl(lock.get(), F_OFD_SETLK, &hold) == 0);
  const auto answer = stage.answer(2);
  CHECK(answer.decision.kind == Kind::allowed);
  CHECK(answer.decision.grounds == Grounds::package);
  CHECK(stage.identity.stats().held == 0);
  CHECK(stage.identity.stats().held_total == held_before + 1);
}

TEST_CASE("a runtime's memfd copy is allowed by content; a spoofed one is not",
          "[content][identity]") {
  TempTree tree;
  tree.file("usr/sbin/runc", std::string(300'000, 'r'));
  Stage stage(tree);
  stage.tree_root = tree.root();
  stage.identity.configure({"/usr/sbin/*"}, false);
  REQUIRE(stage.identity.judge(stage.query(1, "/usr/sbin/runc", true)));
  // runc copies itself into a sealed memfd and executes that.
  const auto memfd_of = [](const std::string& content) {
    const int fd = ::memfd_create("runc_cloned:/proc/self/exe", MFD_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    return FileDescriptor(fd);
  };
  const auto nameless = [&](std::uint64_t ticket, FileDescriptor fd) {
    ContentQuery query;
    query.ticket = ticket;
    query.nameless = true;
    query.version = version_of_fd(fd.get());
    query.exe = std::move(fd);
    return query;
  };
  CHECK_FALSE(stage.identity.judge(nameless(2, memfd_of(std::string(300'000, 'r')))));
  auto answer = stage.answer(2);
  CHECK(answer.decision.kind == Kind::allowed);
  CHECK(answer.decision.grounds == Grounds::runtime_clone);
  CHECK(answer.decision.runtime == "/usr/sbin/runc");
  // The same name, other bytes.
  CHECK_FALSE(stage.identity.judge(nameless(3, memfd_of(std::string(300'000, 'x')))));
  answer = stage.answer(3);
  CHECK(answer.decision.kind == Kind::unexpected);
  CHECK(answer.decision.reason == Reason::path);
  CHECK(answer.digest);
  // Nothing to read it by: unknown, and unexpected.
  ContentQuery gone;
  gone.ticket = 4;
  gone.nameless = true;
  gone.version = FileVersion{1, 2, 3};
  CHECK_FALSE(stage.identity.judge(std::move(gone)));
  answer = stage.answer(4);
  CHECK(answer.decision.kind == Kind::unexpected);
  CHECK(answer.unknown == HashUnknown::no_name);
}

}  // namespace execmond

namespace execmond {

TEST_CASE("the info metric of unexpected files is bounded and escaped", "[content][identity]") {
  UnexpectedFileInfo info;
  Sha256 content;
  content.bytes.fill(0xab);
  info.record("/tmp/a b\n\"x\"", content.hex());
  info.record("/tmp/a b\n\"x\"", content.hex());  // the same pair: one series
  auto families = testing::families_of(info);
  REQUIRE(families.at(0).metric.size() == 1);
  const auto& labels = families.at(0).metric.at(0).label;
  CHECK(labels.at(0).value == "/tmp/a b\\x0a\"x\"");
  CHECK(labels.at(1).value == content.hex());
  for (std::size_t i = 0; i < UnexpectedFileInfo::kCapacity + 10; ++i)
    info.record("/tmp/f" + std::to_string(i), content.hex());
  CHECK(info.size() == UnexpectedFileInfo::kCapacity);
  families = testing::families_of(info);
  CHECK(families.at(0).metric.size() == UnexpectedFileInfo::kCapacity);
  CHECK(families.at(2).name == "execmond_unexpected_file_info_replaced_total");
  CHECK(families.at(2).metric.at(0).counter.value == 11);
  // The most recent first; the first pair is gone.
  CHECK(families.at(0).metric.at(0).label.at(0).value == "/tmp/f1009");
}

TEST_CASE("content metrics say what hashing did", "[content][identity]") {
  TempTree tree;
  tree.file("usr/local/bin/tool", "tool\n");
  Stage stage(tree);
  stage.tree_root = tree.root();
  stage.identity.configure({"/usr/local/bin/*"}, false);
  REQUIRE(stage.identity.judge(stage.query(1, "/usr/local/bin/tool", true)));
  stage.hashed(1);
  const ContentMetrics metrics(stage.identity);
  std::map<std::string, double> values;
  for (const auto& family : testing::collect_families(metrics))
    for (const auto& metric : family.metric)
      values[family.name] += metric.counter.value + metric.gauge.value;
  CHECK(values.at("execmond_content_hashes_total") == 1);
  CHECK(values.at("execmond_content_hashed_bytes_total") == 5);
  CHECK(values.at("execmond_content_hash_unknown_total") == 0);
  CHECK(values.count("execmond_package_database_files") == 0);  // packaged is off
  CHECK(values.count("execmond_unexpected_file_info_series_limit") == 1);
}

}  // namespace execmond

namespace execmond {

TEST_CASE("another mount namespace is a container only if the host does not hold the file",
          "[content][identity]") {
  TempTree tree;
  tree.file("usr/sbin/tool", "tool\n");
  tree.file("elsewhere/copy", "copy\n");
  const FileDescriptor root = open_root(tree.root());
  Reader reader;
  std::map<std::uint64_t, ContentAnswer> answers;
  ContentVerdicts verdicts(
      root.get(), [&reader](std::function<void()> task) { reader.post(std::move(task)); },
      [&answers](const execmond_binary_id& key, ContentAnswer answer, std::string_view) {
        answers[key.ino] = std::move(answer);
      },
      {});
  verdicts.configure({"/usr/sbin/*"}, false);
  const auto question = [&](const std::string& file, const char* name) {
    const FileVersion version = version_of(tree.path(file));
    ContentQuestion q{};
    q.key.ino = version.ino;
    q.key.dev = version.dev;
    q.key.ctime_ns = version.ctime_ns;
    q.key.view = 4026531840u;
    q.binary_flags = EXECMOND_BINARY_OVERLAY_UPPER;
    q.view = JudgingView::kProcess;
    q.name = name;
    q.name_allowed = true;
    return q;
  };
  // A sandboxed service (its own mount namespace) running the host's file, on a host
  // whose root is an overlay: the host's file, not drift.
  CHECK(verdicts.judge(question("usr/sbin/tool", "/usr/sbin/tool")).kind ==
        ContentAnswer::Kind::kAllowed);
  // The same name for a file the host does not hold there: a container's, drift.
  const ContentAnswer drift = verdicts.judge(question("elsewhere/copy", "/usr/sbin/tool"));
  CHECK(drift.kind == ContentAnswer::Kind::kUnexpected);
  CHECK(drift.reason == UnexpectedReason::kDrift);
}

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "binaries/content_digest.h"
#include "binaries/file_digester.h"
#include "binaries/hash_budget.h"
#include "binaries/hash_cache.h"
#include "binaries/hash_worker.h"
#include "binaries/host_files.h"
#include "binaries/host_root.h"
#include "config/content_entry.h"
#include "service/file_descriptor.h"
#include "temp_tree.h"

namespace execmond {
namespace {

constexpr std::uint64_t kMs = 1'000'000;

FileVersion version_of(const std::string& path) {
  struct statx seen {};
  REQUIRE(::statx(AT_FDCWD, path.c_str(), 0, STATX_INO | STATX_CTIME, &seen) == 0);
  return FileVersion{
      kernel_device_number(seen.stx_dev_major, seen.stx_dev_minor), seen.stx_ino,
      static_cast<std::uint64_t>(seen.stx_ctime.tv_sec) * 1'000'000'000 + seen.stx_ctime.tv_nsec};
}

// Results the worker delivers, collected for a test to wait on.
class Inbox {
 public:
  void put(HashResult&& result) {
    const std::lock_guard lock(mutex_);
    results_.push_back(std::move(result));
    arrived_.notify_all();
  }
  std::vector<HashResult> wait_for(std::size_t count) {
    std::unique_lock lock(mutex_);
    const bool all =
        arrived_.wait_for(lock, std::chrono::seconds(20), [&] { return results_.size() >= count; });
    REQUIRE(all);
    return std::move(results_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<HashResult> results_;
};

}  // namespace

TEST_CASE("digests are spelled in hex, both ways", "[content]") {
  const std::string hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const auto digest = Sha256::from_hex(hex);
  REQUIRE(digest);
  CHECK(digest->hex() == hex);
  CHECK(Sha256::from_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD") ==
        digest);
  CHECK_FALSE(Sha256::from_hex(hex.substr(1)));
  CHECK_FALSE(Sha256::from_hex(hex + "0"));
  CHECK_FALSE(Sha256::from_hex("g" + hex.substr(1)));
  CHECK_FALSE(Md5::from_hex(""));
  CHECK(Md5::from_hex("900150983cd24fb0d6963f7d28e17f72")->hex() ==
        "900150983cd24fb0d6963f7d28e17f72");
}

TEST_CASE("sha256: allow entries are checked for length and digits", "[content]") {
  const std::string good =
      "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  CHECK(is_sha256_entry(good));
  CHECK_FALSE(is_sha256_entry("/usr/bin/*"));
  CHECK_FALSE(sha256_entry_error(good));
  CHECK(*sha256_entry_error("sha256:abc") ==
        "a sha256: entry needs 64 hex digits after \"sha256:\" (sha256sum prints them), this one "
        "has 3");
  CHECK(*sha256_entry_error(good.substr(0, 20) + "x" + good.substr(21)) ==
        "a sha256: entry holds only hex digits 0-9 and a-f after \"sha256:\", character 21 is not "
        "one");
}

TEST_CASE("one read digests a file with SHA-256 and MD5", "[content]") {
  TempTree tree;
  tree.file("abc", "abc");
  tree.file("empty", "");
  tree.file("million", std::string(1'000'000, 'a'));
  FileDigester digester;
  std::size_t chunks = 0;
  const auto count = [&chunks](std::size_t) {
    ++chunks;
    return true;
  };
  const auto digest = [&](const std::string& name) {
    const FileDescriptor fd(::open(tree.path(name).c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(fd);
    return digester.digest(fd.get(), count);
  };
  const auto abc = digest("abc");
  CHECK(abc.outcome == FileDigester::Outcome::digested);
  CHECK(abc.bytes == 3);
  CHECK(abc.digest.sha256.hex() ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(abc.digest.md5.hex() == "900150983cd24fb0d6963f7d28e17f72");
  const auto empty = digest("empty");
  CHECK(empty.digest.sha256.hex() ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(empty.digest.md5.hex() == "d41d8cd98f00b204e9800998ecf8427e");
  chunks = 0;
  const auto million = digest("million");
  CHECK(million.bytes == 1'000'000);
  CHECK(chunks == 4);  // 256 KiB at a time
  CHECK(million.digest.sha256.hex() ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK(million.digest.md5.hex() == "7707d6ae4e027c70eea2a935c2296f21");
  // The digester is reused: the same file again gives the same digest.
  CHECK(digest("abc").digest == abc.digest);

  const FileDescriptor fd(::open(tree.path("million").c_str(), O_RDONLY | O_CLOEXEC));
  const auto abandoned = digester.digest(fd.get(), [](std::size_t) { return false; });
  CHECK(abandoned.outcome == FileDigester::Outcome::abandoned);
  const FileDescriptor directory(::open(tree.root().c_str(), O_RDONLY | O_CLOEXEC));
  const auto unreadable = digester.digest(directory.get(), count);
  CHECK(unreadable.outcome == FileDigester::Outcome::read_error);
  CHECK(unreadable.error == EISDIR);
}

TEST_CASE("the hash budget holds the worker to its CPU share and read rate", "[content]") {
  HashBudget::Limits limits;
  limits.cpu_share = 0.2;
  limits.bytes_per_second = 100e6;
  limits.burst_ns = 100 * kMs;
  HashBudget budget(limits);
  // The burst first: 20 ms of CPU (20% of 100 ms) and 10 MB go at once.
  CHECK(budget.charge(10 * kMs, 1'000'000, 0) == 0);
  CHECK(budget.charge(10 * kMs, 1'000'000, 0) == 0);
  // Then 10 ms of CPU more costs 50 ms of wall time at 20%.
  CHECK(budget.charge(10 * kMs, 0, 0) == 50 * kMs);
  // Time refills it: after the 50 ms, nothing is owed.
  CHECK(budget.charge(0, 0, 50 * kMs) == 0);
  // The read rate binds on its own: 20 MB at 100 MB/s owe 100 ms beyond the 10 MB burst.
  HashBudget reads(limits);
  CHECK(reads.charge(0, 20'000'000, 0) == 100 * kMs);
  // Over a long run, the CPU used is the share of the wall time.
  HashBudget steady(limits);
  std::uint64_t now = 0, cpu = 0;
  for (int i = 0; i < 1000; ++i) {
    cpu += 2 * kMs;
    now += 2 * kMs + steady.charge(2 * kMs, 0, now);
  }
  const double share = static_cast<double>(cpu) / static_cast<double>(now);
  CHECK(share == Approx(0.2).epsilon(0.02));
}

TEST_CASE("the hash cache keeps settled versions, bounded", "[content]") {
  HashCache cache(2);
  const ContentDigest a{Sha256{{1}}, Md5{{1}}}, b{Sha256{{2}}, Md5{{2}}}, c{Sha256{{3}}, Md5{{3}}};
  const FileVersion one{1, 10, 1000 * kMs}, two{1, 11, 1000 * kMs}, three{1, 12, 1000 * kMs};
  const std::uint64_t later = 2000 * kMs;
  CHECK(cache.insert(one, a, later));
  CHECK(cache.insert(two, b, later));
  CHECK(cache.find(one) == a);  // one is now the most recent
  CHECK(cache.insert(three, c, later));
  CHECK_FALSE(cache.find(two));  // the least recent went
  CHECK(cache.find(one) == a);
  CHECK(cache.find(three) == c);
  CHECK(cache.size() == 2);
  // A version changed less than kContentSettleNs before its read may change again
  // within its timestamp tick: digested, not kept.
  const FileVersion fresh{1, 13, later - kContentSettleNs + 1};
  CHECK_FALSE(cache.insert(fresh, a, later));
  CHECK_FALSE(cache.find(fresh));
  CHECK(cache.insert(FileVersion{1, 13, later - kContentSettleNs}, a, later));
  // Another ctime is another version.
  CHECK_FALSE(cache.find(FileVersion{1, 10, 1001 * kMs}));
}

TEST_CASE("files are opened as the host names them and proven to be the version that ran",
          "[content]") {
  TempTree tree;
  tree.file("usr/bin/tool", "#!/bin/sh\n");
  tree.symlink("usr/bin", "bin");
  tree.symlink("/usr/bin/tool", "usr/bin/absolute");
  const FileVersion version = version_of(tree.path("usr/bin/tool"));
  const HostFiles files(open_root(tree.root()));
  CHECK(files.open_host_path("/usr/bin/tool", version).ok());
  // Symlinks resolve inside that root, absolute ones too.
  CHECK(files.open_host_path("/bin/tool", version).ok());
  CHECK(files.open_host_path("/usr/bin/absolute", version).ok());
  // ".." stops at the root.
  CHECK(files.open_host_path("/../../usr/bin/tool", version).ok());
  CHECK(files.open_host_path("/usr/bin/missing", version).failure == HostFiles::Failure::not_found);
  FileVersion older = version;
  older.ctime_ns -= 1;
  CHECK(files.open_host_path("/usr/bin/tool", older).failure == HostFiles::Failure::other_version);
  FileVersion elsewhere = version;
  elsewhere.dev ^= 1;
  CHECK(files.open_host_path("/usr/bin/tool", elsewhere).failure ==
        HostFiles::Failure::other_version);
  CHECK(files.open_host_path("/usr/bin", version_of(tree.path("usr/bin"))).failure ==
        HostFiles::Failure::not_regular);
  // A running process's file, through /proc/PID/exe.
  const FileVersion self = version_of("/proc/self/exe");
  CHECK(files.open_process_exe(::getpid(), self).ok());
  CHECK(files.open_process_exe(::getpid(), version).failure == HostFiles::Failure::other_version);
}

TEST_CASE("btrfs and overlayfs files are matched by inode and ctime", "[content]") {
  struct statx seen {};
  seen.stx_ino = 42;
  seen.stx_ctime.tv_sec = 3;
  seen.stx_ctime.tv_nsec = 7;
  seen.stx_dev_major = 0;
  seen.stx_dev_minor = 55;
  const FileVersion expected{kernel_device_number(0, 31), 42, 3'000'000'007};
  CHECK_FALSE(same_version(seen, 0xef53 /* ext4 */, expected));
  CHECK(same_version(seen, kBtrfsMagic, expected));
  CHECK(same_version(seen, kOverlayfsMagic, expected));
  CHECK_FALSE(same_version(seen, kOverlayfsMagic,
                           FileVersion{kernel_device_number(0, 31), 43, 3'000'000'007}));
  seen.stx_dev_minor = 31;
  CHECK(same_version(seen, 0xef53, expected));
  // The kernel's encoding: 12 bits of major above 20 of minor.
  CHECK(kernel_device_number(8, 1) == (8u << 20 | 1u));
}

TEST_CASE("the hash worker digests, caches, and answers every request once", "[content]") {
  TempTree tree;
  tree.file("a", "abc");
  tree.file("b", std::string(1'000'000, 'a'));
  HashCache cache;
  Inbox inbox;
  HashWorker::Settings settings;
  HashWorker worker(cache, HostFiles(open_root(tree.root())), settings,
                    [&inbox](HashResult&& result) { inbox.put(std::move(result)); });
  REQUIRE(worker.available());
  HashRequest a;
  a.ticket = 1;
  a.version = version_of(tree.path("a"));
  a.host_path = "/a";
  HashRequest b;
  b.ticket = 2;
  b.version = version_of(tree.path("b"));
  b.host_path = "/b";
  b.lane = HashRequest::Lane::background;
  // Not a name the host has, and a process that is not running it: unknown.
  HashRequest gone;
  gone.ticket = 3;
  gone.version = a.version;
  gone.version.ino += 1000000;
  HashRequest by_process;
  by_process.ticket = 4;
  by_process.version = version_of("/proc/self/exe");
  by_process.pid = ::getpid();
  worker.submit(std::move(a));
  worker.submit(std::move(b));
  worker.submit(std::move(gone));
  worker.submit(std::move(by_process));
  auto results = inbox.wait_for(4);
  std::sort(results.begin(), results.end(),
            [](const HashResult& x, const HashResult& y) { return x.ticket < y.ticket; });
  REQUIRE(results.size() == 4);
  REQUIRE(results[0].digest);
  CHECK(results[0].digest->sha256.hex() ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  REQUIRE(results[1].digest);
  CHECK(results[1].digest->md5.hex() == "7707d6ae4e027c70eea2a935c2296f21");
  CHECK(results[1].bytes == 1'000'000);
  CHECK_FALSE(results[2].digest);
  CHECK(results[2].unknown == HashUnknown::no_name);
  CHECK(results[3].digest);

  // The tree's files were written more than kContentSettleNs ago by now? Not
  // necessarily: write one, wait, and hash it twice: the second answer is the cache's.
  tree.file("settled", "settled");
  ::usleep(30'000);
  HashRequest first;
  first.ticket = 5;
  first.version = version_of(tree.path("settled"));
  first.host_path = "/settled";
  HashRequest second;
  second.ticket = 6;
  second.version = first.version;
  worker.submit(std::move(first));
  inbox.wait_for(1);
  worker.submit(std::move(second));
  const auto cached = inbox.wait_for(1);
  CHECK(cached.at(0).from_cache);
  CHECK(cached.at(0).digest->sha256.hex() ==
        Sha256::from_hex(cached.at(0).digest->sha256.hex())->hex());
  const auto stats = worker.stats();
  CHECK(stats.hashed == 4);
  CHECK(stats.cache_hits == 1);
  CHECK(stats.unknown == 1);
}

TEST_CASE("a full hash queue answers at once, counted; a file that changes is unknown",
          "[content]") {
  TempTree tree;
  tree.file("big", std::string(4'000'000, 'x'));
  HashCache cache;
  Inbox inbox;
  HashWorker::Settings settings;
  settings.queue_capacity = 2;
  settings.budget.bytes_per_second = 8e6;  // the first file takes ~0.5 s
  settings.budget.burst_ns = 1;
  HashWorker worker(cache, HostFiles(open_root(tree.root())), settings,
                    [&inbox](HashResult&& result) { inbox.put(std::move(result)); });
  const FileVersion big = version_of(tree.path("big"));
  for (std::uint64_t ticket = 1; ticket <= 6; ++ticket) {
    HashRequest request;
    request.ticket = ticket;
    request.version = big;
    request.host_path = "/big";
    worker.submit(std::move(request));
  }
  const auto results = inbox.wait_for(6);
  std::size_t full = 0, known = 0;
  for (const auto& result : results) {
    full += result.unknown == HashUnknown::queue_full;
    known += result.digest.has_value();
  }
  // One being read, two queued, three refused at once.
  CHECK(full >= 3);
  CHECK(full + known == 6);
  CHECK(worker.stats().queue_full == full);
  CHECK(worker.stats().throttled_ns > 100 * kMs);

  // Rewritten after the exec: not the version that ran.
  tree.file("changing", "one");
  HashRequest changed;
  changed.ticket = 7;
  changed.version = version_of(tree.path("changing"));
  changed.host_path = "/changing";
  ::usleep(20'000);
  tree.file("changing", "two");
  worker.submit(std::move(changed));
  CHECK(inbox.wait_for(1).at(0).unknown == HashUnknown::changed);
}

}  // namespace execmond

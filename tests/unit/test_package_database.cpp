// SPDX-License-Identifier: Apache-2.0
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "binaries/dpkg_database.h"
#include "binaries/dpkg_parsers.h"
#include "binaries/host_path_canonicalizer.h"
#include "binaries/host_root.h"
#include "binaries/package_index.h"
#include "binaries/package_watcher.h"
#include "binaries/path_key.h"
#include "temp_tree.h"

namespace execmond {
namespace {

const std::string kMd5A = "900150983cd24fb0d6963f7d28e17f72";  // md5("abc")
const std::string kMd5B = "d41d8cd98f00b204e9800998ecf8427e";  // md5("")
const std::string kMd5C = "7707d6ae4e027c70eea2a935c2296f21";

Md5 md5(const std::string& hex) { return *Md5::from_hex(hex); }

std::vector<std::pair<std::string, std::string>> md5sums(std::string_view text,
                                                         dpkg::ParseCount* count = nullptr) {
  std::vector<std::pair<std::string, std::string>> entries;
  const auto parsed = dpkg::parse_md5sums(text, [&](const Md5& digest, std::string_view path) {
    entries.emplace_back(digest.hex(), std::string(path));
  });
  if (count) *count = parsed;
  return entries;
}

}  // namespace

TEST_CASE("md5sums lines are read as md5sum writes them", "[dpkg]") {
  dpkg::ParseCount count;
  const auto entries =
      md5sums(kMd5A + "  usr/bin/ls\n" + kMd5B + " *usr/bin/binary mode\n" + kMd5C +
                  "  ./usr/sbin/old\n" + "\n" + "not a line\n" + kMd5A + " usr/bin/one-space\n" +
                  kMd5A.substr(1) + "   x\n" + kMd5A + "  \n" + kMd5A + "  usr/bin/last",
              &count);
  CHECK(entries == std::vector<std::pair<std::string, std::string>>{
                       {kMd5A, "/usr/bin/ls"},
                       {kMd5B, "/usr/bin/binary mode"},
                       {kMd5C, "/usr/sbin/old"},
                       {kMd5A, "/usr/bin/last"},
                   });
  CHECK(count.entries == 4);
  CHECK(count.malformed == 4);
}

TEST_CASE("list files name paths, directories included", "[dpkg]") {
  std::vector<std::string> paths;
  const auto count = dpkg::parse_list("/.\n/bin\n/bin/ls\n\nrelative\n/usr/bin/with space\n",
                                      [&](std::string_view path) { paths.emplace_back(path); });
  CHECK(paths == std::vector<std::string>{"/bin", "/bin/ls", "/usr/bin/with space"});
  CHECK(count.malformed == 1);
}

TEST_CASE("diversions come in threes; a cut one is counted", "[dpkg]") {
  std::vector<dpkg::Diversion> diversions;
  const auto count = dpkg::parse_diversions(
      "/usr/bin/perf\n/usr/bin/perf.wrapper\nlinux-perf\n/usr/bin/x\n/usr/bin/x.orig\n:\n"
      "/usr/bin/cut\n/usr/bin/cut.d\n",
      diversions);
  REQUIRE(diversions.size() == 2);
  CHECK(diversions[0].from == "/usr/bin/perf");
  CHECK(diversions[0].to == "/usr/bin/perf.wrapper");
  CHECK(diversions[0].by == "linux-perf");
  CHECK_FALSE(diversions[0].local());
  CHECK(diversions[1].local());
  CHECK(count.entries == 2);
  CHECK(count.malformed == 1);
  std::vector<dpkg::Diversion> none;
  CHECK(dpkg::parse_diversions("", none).malformed == 0);
  CHECK(dpkg::parse_diversions("relative\n/b\npkg\n", none).malformed == 1);
  CHECK(none.empty());
}

TEST_CASE("status gives each package's conffiles and their checksums", "[dpkg]") {
  const std::string status =
      "Package: apt\nStatus: install ok installed\nConffiles:\n"
      " /etc/cron.daily/apt-compat " +
      kMd5A + "\n /etc/apt/with space.conf " + kMd5B +
      " obsolete\n /etc/new newconffile remove-on-upgrade\n /etc/bad nothex\n"
      "Description: x\n " +
      kMd5C +
      " looks like a conffile but is description\n\n"
      "Conffiles:\n /etc/orphan " +
      kMd5A + "\n\nPackage: cron\nConffiles:\n /etc/cron.d/x " + kMd5C + "\n";
  std::vector<std::string> seen;
  const auto count = dpkg::parse_status_conffiles(status, [&](const dpkg::Conffile& c) {
    seen.push_back(std::string(c.package) + " " + std::string(c.path) + " " +
                   (c.md5 ? c.md5->hex() : "none") + (c.obsolete ? " obsolete" : ""));
  });
  CHECK(seen == std::vector<std::string>{
                    "apt /etc/cron.daily/apt-compat " + kMd5A,
                    "apt /etc/apt/with space.conf " + kMd5B + " obsolete",
                    "apt /etc/new none",
                    "cron /etc/cron.d/x " + kMd5C,
                });
  CHECK(count.malformed == 2);  // the bad hash, the conffile of no package
}

TEST_CASE("info file names give the package", "[dpkg]") {
  CHECK(dpkg::package_of_info_file("libc6:amd64.md5sums") == "libc6");
  CHECK(dpkg::package_of_info_file("coreutils.list") == "coreutils");
}

TEST_CASE("path keys are SipHash-2-4", "[dpkg]") {
  // The reference vectors: key 00 01 .. 0f, messages 00 01 .. (n-1).
  const PathKeyer keyer({0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL});
  CHECK(keyer("") == 0x726fdb47dd0e0e31ULL);
  CHECK(keyer(std::string_view("\x00", 1)) == 0x74f839c593dc67fdULL);
  std::string eight;
  for (char c = 0; c < 8; ++c) eight.push_back(c);
  CHECK(keyer(eight) == 0x93f5f5799a932462ULL);
  // Another key, other values: no one can aim at a packaged path's key.
  CHECK(PathKeyer()("/usr/bin/ls") != PathKeyer()("/usr/bin/ls"));
}

TEST_CASE("the package index answers ownership and checksums", "[dpkg]") {
  PackageIndex::Builder builder("dpkg");
  const auto coreutils = builder.package("coreutils");
  const auto libc_amd64 = builder.package("libc6");
  const auto libc_i386 = builder.package("libc6-i386");
  builder.add_file("/usr/bin/ls", coreutils, md5(kMd5A));
  builder.add_owned("/usr/bin/ls", coreutils);  // its .list line too
  builder.add_owned("/usr/bin/dir-link", coreutils);
  builder.add_file("/usr/share/doc/libc6/changelog.gz", libc_amd64, md5(kMd5B));
  builder.add_file("/usr/share/doc/libc6/changelog.gz", libc_i386, md5(kMd5C));
  builder.add_file("/etc/new", coreutils, std::nullopt);
  const PackageIndex index = builder.build();
  const Md5 a = md5(kMd5A), b = md5(kMd5B), c = md5(kMd5C);

  auto found = index.find("/usr/bin/ls", &a);
  CHECK(found.ownership == PackageIndex::Ownership::owned);
  CHECK(found.matches);
  CHECK(found.package == "coreutils");
  found = index.find("/usr/bin/ls", &b);
  CHECK(found.ownership == PackageIndex::Ownership::owned);
  CHECK_FALSE(found.matches);
  CHECK_FALSE(index.find("/usr/bin/ls", nullptr).matches);
  CHECK(index.find("/usr/bin/dir-link", &a).ownership ==
        PackageIndex::Ownership::owned_without_checksum);
  CHECK(index.find("/etc/new", &a).ownership == PackageIndex::Ownership::owned_without_checksum);
  CHECK(index.find("/usr/bin/lsx", &a).ownership == PackageIndex::Ownership::not_owned);
  // Two owners: either checksum matches, and names its package.
  found = index.find("/usr/share/doc/libc6/changelog.gz", &c);
  CHECK(found.matches);
  CHECK(found.package == "libc6-i386");

  CHECK(index.in_package_directory("/usr/bin/anything"));
  CHECK(index.in_package_directory("/usr/share/doc/libc6/x"));
  CHECK_FALSE(index.in_package_directory("/usr/share/doc/x"));
  CHECK_FALSE(index.in_package_directory("/usr/local/bin/x"));
  const auto stats = index.stats();
  CHECK(stats.packages == 3);
  CHECK(stats.files == 3);
  CHECK(stats.unchecked == 2);
  CHECK(stats.directories == 2);
}

TEST_CASE("database paths are named as the host resolves their directories", "[dpkg]") {
  TempTree tree;
  tree.directory("usr/bin");
  tree.directory("usr/lib/x86_64-linux-gnu");
  tree.symlink("usr/bin", "bin");
  tree.symlink("/usr/lib", "lib");
  tree.symlink("../lib/x86_64-linux-gnu", "usr/bin/relative");
  tree.symlink("loop2", "loop1");
  tree.symlink("loop1", "loop2");
  const FileDescriptor root = open_root(tree.root());
  REQUIRE(root);
  HostPathCanonicalizer canonicalizer(root.get());
  CHECK(canonicalizer.canonical("/bin/ls") == "/usr/bin/ls");
  CHECK(canonicalizer.canonical("/lib/x86_64-linux-gnu/libc.so.6") ==
        "/usr/lib/x86_64-linux-gnu/libc.so.6");
  CHECK(canonicalizer.canonical("/bin/relative/ld.so") == "/usr/lib/x86_64-linux-gnu/ld.so");
  CHECK(canonicalizer.canonical("/usr/bin/./x") == "/usr/bin/x");
  CHECK(canonicalizer.canonical("/usr/bin/../sbin/x") == "/usr/sbin/x");
  CHECK(canonicalizer.canonical("/bin/../x") == "/usr/x");  // ".." after the symlink
  CHECK(canonicalizer.canonical("/no/such/dir/x") == "/no/such/dir/x");
  CHECK(canonicalizer.canonical("/loop1/x") == "/loop1/x");  // bounded, kept
  CHECK(canonicalizer.canonical("/x") == "/x");
  // The last component is not followed: a packaged symlink stays itself.
  CHECK(canonicalizer.canonical("/bin") == "/bin");
  const std::size_t lookups = canonicalizer.lookups();
  CHECK(canonicalizer.canonical("/bin/cat") == "/usr/bin/cat");
  CHECK(canonicalizer.lookups() == lookups);  // one lookup per directory, remembered
}

namespace {

// A host root with dpkg's database: coreutils (merged /usr: listed under /bin), a
// diversion of another package's file, a local diversion, cron's conffile.
void write_database(const TempTree& tree) {
  tree.directory("usr/bin");
  tree.directory("usr/sbin");
  tree.symlink("usr/bin", "bin");
  tree.file("var/lib/dpkg/info/coreutils.md5sums",
            kMd5A + "  bin/ls\n" + kMd5B + "  usr/bin/perf\n" + kMd5C + "  usr/bin/local\n");
  tree.file("var/lib/dpkg/info/coreutils.list",
            "/.\n/bin\n/bin/ls\n/usr\n/usr/bin\n/usr/bin/perf\n/usr/bin/local\n/usr/bin/sym\n"
            "/usr/share/empty\n");
  tree.file("var/lib/dpkg/info/linux-perf:amd64.md5sums", kMd5C + "  usr/bin/perf\n");
  tree.file("var/lib/dpkg/info/linux-perf:amd64.list", "/usr/bin/perf\n");
  tree.file("var/lib/dpkg/info/broken.md5sums", "garbage\n");
  tree.file("var/lib/dpkg/info/coreutils.postinst", "#!/bin/sh\n");
  tree.file("var/lib/dpkg/diversions",
            "/usr/bin/perf\n/usr/bin/perf.wrapper\nlinux-perf\n"
            "/usr/bin/local\n/usr/bin/local.orig\n:\n");
  tree.file("var/lib/dpkg/status", "Package: cron\nConffiles:\n /etc/cron.daily/job " + kMd5A +
                                       "\n\nPackage: coreutils\nVersion: 1\n");
  tree.directory("var/lib/dpkg/updates");
}

}  // namespace

TEST_CASE("dpkg's database is loaded as the host names its files", "[dpkg]") {
  TempTree tree;
  write_database(tree);
  const FileDescriptor root = open_root(tree.root());
  DpkgDatabase dpkg;
  REQUIRE(dpkg.present(root.get()));
  PackageDatabase::LoadStats stats;
  const PackageIndex index = dpkg.load(root.get(), stats);
  const Md5 a = md5(kMd5A), b = md5(kMd5B), c = md5(kMd5C);
  // /bin/ls of the database is /usr/bin/ls on this host.
  CHECK(index.find("/usr/bin/ls", &a).matches);
  CHECK(index.find("/bin/ls", &a).ownership == PackageIndex::Ownership::not_owned);
  // linux-perf diverts coreutils' /usr/bin/perf to perf.wrapper, keeps its own.
  CHECK(index.find("/usr/bin/perf", &c).matches);
  CHECK(index.find("/usr/bin/perf", &c).package == "linux-perf");
  CHECK_FALSE(index.find("/usr/bin/perf", &b).matches);
  CHECK(index.find("/usr/bin/perf.wrapper", &b).matches);
  CHECK(index.find("/usr/bin/perf.wrapper", &b).package == "coreutils");
  // A local diversion (dpkg-divert --local --rename): the package's file moved aside,
  // what is at the original path is the admin's, owned by no package.
  CHECK(index.find("/usr/bin/local.orig", &c).matches);
  CHECK(index.find("/usr/bin/local", &c).ownership == PackageIndex::Ownership::not_owned);
  // Listed, no checksum: owned without one; directories are not files.
  CHECK(index.find("/usr/bin/sym", &a).ownership ==
        PackageIndex::Ownership::owned_without_checksum);
  CHECK(index.find("/usr/bin", &a).ownership == PackageIndex::Ownership::not_owned);
  CHECK(index.find("/usr/share/empty", &a).ownership ==
        PackageIndex::Ownership::owned_without_checksum);
  // Conffiles, from status.
  CHECK(index.find("/etc/cron.daily/job", &a).matches);
  CHECK(index.find("/etc/cron.daily/job", &a).package == "cron");
  CHECK(index.in_package_directory("/etc/cron.daily/other"));
  CHECK(index.in_package_directory("/usr/bin/other"));
  CHECK_FALSE(index.in_package_directory("/usr/local/bin/other"));
  CHECK(stats.files_read == 7);  // 5 info files, diversions, status
  CHECK(stats.malformed_lines == 1);
  CHECK(index.stats().packages == 4);
}

TEST_CASE("dpkg is busy while its lock is held or its journal is not empty", "[dpkg]") {
  TempTree tree;
  write_database(tree);
  tree.file("var/lib/dpkg/lock", "");
  const FileDescriptor root = open_root(tree.root());
  DpkgDatabase dpkg;
  CHECK_FALSE(dpkg.busy(root.get()));
  {
    // dpkg takes a POSIX write lock; an open file description lock conflicts with it
    // the same way, and lets this process hold one the query sees.
    const FileDescriptor lock(::open(tree.path("var/lib/dpkg/lock").c_str(), O_RDWR | O_CLOEXEC));
    struct flock hold {};
    hold.l_type = F_WRLCK;
    hold.l_whence = SEEK_SET;
    REQUIRE(::fcntl(lock.get(), F_OFD_SETLK, &hold) == 0);
    CHECK(dpkg.busy(root.get()));
  }
  CHECK_FALSE(dpkg.busy(root.get()));
  tree.file("var/lib/dpkg/updates/0001", "Package: x\n");
  CHECK(dpkg.busy(root.get()));
}

TEST_CASE("a host without dpkg's database has none; a broken one is an error", "[dpkg]") {
  TempTree tree;
  tree.directory("var/lib");
  const FileDescriptor root = open_root(tree.root());
  DpkgDatabase dpkg;
  CHECK_FALSE(dpkg.present(root.get()));
  tree.directory("var/lib/dpkg/info");
  REQUIRE(dpkg.present(root.get()));
  PackageDatabase::LoadStats stats;
  // No status file: dpkg's database is not whole.
  CHECK_THROWS_AS(dpkg.load(root.get(), stats), PackageDatabaseError);
}

}  // namespace execmond

namespace execmond {
namespace {

// Waits up to 10 s for `ready`, looking every 20 ms.
template <typename Ready>
bool eventually(Ready&& ready) {
  for (int i = 0; i < 500; ++i) {
    if (ready()) return true;
    ::usleep(20'000);
  }
  return ready();
}

}  // namespace

TEST_CASE("package changes are picked up without a restart, after dpkg is done", "[dpkg]") {
  TempTree tree;
  write_database(tree);
  tree.file("var/lib/dpkg/lock", "");
  const FileDescriptor root = open_root(tree.root());
  std::atomic<int> changes{0};
  PackageWatcher watcher(root.get(), known_package_databases(), [&changes] { ++changes; });
  CHECK(watcher.manager() == "dpkg");
  REQUIRE(eventually([&] { return watcher.snapshot().generation == 1; }));
  const Md5 a = md5(kMd5A), b = md5(kMd5B);
  CHECK(watcher.snapshot().index->find("/usr/bin/ls", &a).matches);
  CHECK_FALSE(watcher.snapshot().index->find("/usr/bin/ls", &b).matches);
  CHECK(changes >= 1);

  // dpkg upgrades coreutils, holding its lock: nothing is reloaded while it runs...
  const FileDescriptor lock(::open(tree.path("var/lib/dpkg/lock").c_str(), O_RDWR | O_CLOEXEC));
  struct flock hold {};
  hold.l_type = F_WRLCK;
  hold.l_whence = SEEK_SET;
  REQUIRE(::fcntl(lock.get(), F_OFD_SETLK, &hold) == 0);
  CHECK(watcher.busy_now());
  tree.file("var/lib/dpkg/info/coreutils.md5sums.new", kMd5B + "  bin/ls\n");
  REQUIRE(::rename(tree.path("var/lib/dpkg/info/coreutils.md5sums.new").c_str(),
                   tree.path("var/lib/dpkg/info/coreutils.md5sums").c_str()) == 0);
  ::usleep(1'500'000);
  CHECK(watcher.snapshot().generation == 1);
  CHECK(watcher.snapshot().busy);
  // ...and once it is done, the new checksum is in, the old one kept beside it.
  hold.l_type = F_UNLCK;
  REQUIRE(::fcntl(lock.get(), F_OFD_SETLK, &hold) == 0);
  REQUIRE(eventually([&] { return watcher.snapshot().generation == 2; }));
  const auto snapshot = watcher.snapshot();
  CHECK(snapshot.index->find("/usr/bin/ls", &b).matches);
  CHECK(snapshot.previous->find("/usr/bin/ls", &a).matches);
  CHECK(eventually([&] { return !watcher.busy_now(); }));
  CHECK(watcher.stats().loads == 2);
}

TEST_CASE("a host without a package database gets no index, and says so", "[dpkg]") {
  TempTree tree;
  tree.directory("var/lib");
  const FileDescriptor root = open_root(tree.root());
  PackageWatcher watcher(root.get(), known_package_databases(), [] {});
  const auto snapshot = watcher.snapshot();
  CHECK(snapshot.index == nullptr);
  CHECK_FALSE(snapshot.loading);
  CHECK_FALSE(watcher.busy_now());
  CHECK(watcher.manager().empty());
}

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "binaries/content_policy.h"
#include "binaries/runtime_binaries.h"

namespace execmond {
namespace {

using Kind = ContentDecision::Kind;
using Reason = ContentDecision::Reason;
using Grounds = ContentDecision::Grounds;

ContentDigest content(std::uint8_t seed) {
  ContentDigest digest;
  digest.sha256.bytes.fill(seed);
  digest.md5.bytes.fill(seed);
  return digest;
}

std::string sha256_entry(const ContentDigest& digest) { return "sha256:" + digest.sha256.hex(); }

// /usr/bin/ls (coreutils, content 1), /etc/cron.daily/job (cron, content 2),
// /usr/bin/link (owned, no checksum), /usr/sbin/runc (runc, content 7).
PackageIndex host_packages() {
  PackageIndex::Builder builder("dpkg");
  builder.add_file("/usr/bin/ls", builder.package("coreutils"), content(1).md5);
  builder.add_file("/etc/cron.daily/job", builder.package("cron"), content(2).md5);
  builder.add_owned("/usr/bin/link", builder.package("coreutils"));
  builder.add_file("/usr/sbin/runc", builder.package("runc"), content(7).md5);
  return builder.build();
}

struct Judge {
  PackageIndex index = host_packages();
  ContentAllowList allow_content;
  RuntimeBinaries runtimes;
  PackageView packages{&index};

  ContentDecision operator()(const ContentFacts& facts, HashState hash,
                             const ContentDigest* digest = nullptr) const {
    return decide_content(facts, hash, digest, allow_content, packages, runtimes);
  }
};

ContentFacts at(std::string_view host_path, bool admitted) {
  ContentFacts facts;
  facts.host_path = host_path;
  facts.path_admitted = admitted;
  return facts;
}

}  // namespace

TEST_CASE("sha256: entries are read from the allow list, globs left aside", "[content]") {
  const ContentDigest a = content(1);
  const ContentAllowList list({"/usr/bin/*", sha256_entry(a), sha256_entry(a), "sha256:zz"});
  CHECK(list.size() == 1);
  CHECK(list.allows(a.sha256));
  CHECK_FALSE(list.allows(content(2).sha256));
  CHECK(ContentAllowList({"/usr/bin/*"}).empty());
}

TEST_CASE("a packaged file runs only with its package's content", "[content]") {
  Judge judge;
  const ContentDigest one = content(1), other = content(9);
  // The path is not enough: the md5 must be the package's.
  CHECK(judge(at("/usr/bin/ls", true), HashState::pending).kind == Kind::need_hash);
  auto decision = judge(at("/usr/bin/ls", true), HashState::known, &one);
  CHECK(decision.kind == Kind::allowed);
  CHECK(decision.grounds == Grounds::package);
  CHECK(decision.package == "coreutils");
  decision = judge(at("/usr/bin/ls", true), HashState::known, &other);
  CHECK(decision.kind == Kind::unexpected);
  CHECK(decision.reason == Reason::modified);
  CHECK(decision.package == "coreutils");
  // A glob does not excuse a modified packaged file, and no glob is needed for an
  // intact one (the database vouches for it).
  CHECK(judge(at("/usr/bin/ls", false), HashState::known, &one).kind == Kind::allowed);
  // Conffiles too: a cron job edited in place.
  CHECK(judge(at("/etc/cron.daily/job", true), HashState::known, &other).reason ==
        Reason::modified);
  // Content that could not be read: unverified, not modified.
  CHECK(judge(at("/usr/bin/ls", true), HashState::unknown).reason == Reason::unverified);
}

TEST_CASE("files no package owns: unpackaged in package directories, else the globs decide",
          "[content]") {
  Judge judge;
  const ContentDigest x = content(5);
  // /usr/bin holds packaged files: a glob cannot vouch for a stranger there.
  auto decision = judge(at("/usr/bin/evil", true), HashState::pending);
  CHECK(decision.kind == Kind::unexpected);
  CHECK(decision.reason == Reason::unpackaged);
  CHECK(judge(at("/etc/cron.daily/mine", true), HashState::known, &x).reason == Reason::unpackaged);
  // /usr/local/bin holds none: the glob admits it; without one, unpackaged.
  CHECK(judge(at("/usr/local/bin/tool", true), HashState::pending).kind == Kind::allowed);
  CHECK(judge(at("/usr/local/bin/tool", false), HashState::pending).reason == Reason::unpackaged);
  CHECK(judge(at("/tmp/x", false), HashState::known, &x).reason == Reason::unpackaged);
  // Owned without a checksum: the globs alone.
  CHECK(judge(at("/usr/bin/link", true), HashState::pending).kind == Kind::allowed);
  CHECK(judge(at("/usr/bin/link", false), HashState::pending).reason == Reason::path);
}

TEST_CASE("without a package database the globs decide, with their own reason", "[content]") {
  Judge judge;
  judge.packages = PackageView{};
  CHECK(judge(at("/usr/bin/evil", true), HashState::pending).kind == Kind::allowed);
  const auto decision = judge(at("/tmp/x", false), HashState::pending);
  CHECK(decision.kind == Kind::unexpected);
  CHECK(decision.reason == Reason::path);
  // A container's own view: its paths are not the host's packages.
  Judge with_index;
  CHECK(with_index(at("", true), HashState::pending).kind == Kind::allowed);
}

TEST_CASE("a sha256: entry admits its content at any path; one byte changed does not",
          "[content]") {
  Judge judge;
  const ContentDigest vendor = content(3), changed = content(4);
  judge.allow_content = ContentAllowList({sha256_entry(vendor)});
  for (const std::string_view path : {"/opt/vendor/bin/agent", "/tmp/copy", "/usr/bin/agent"}) {
    // Unexpected by its path, so the content is awaited...
    CHECK(judge(at(path, false), HashState::pending).kind == Kind::need_hash);
    // ...and admits it.
    const auto decision = judge(at(path, false), HashState::known, &vendor);
    CHECK(decision.kind == Kind::allowed);
    CHECK(decision.grounds == Grounds::content);
    CHECK(judge(at(path, false), HashState::known, &changed).kind == Kind::unexpected);
  }
  // It overrides a modified package file too: the operator named that content.
  CHECK(judge(at("/usr/bin/ls", true), HashState::known, &vendor).kind == Kind::allowed);
  // Drift admitted by content, and a nameless copy.
  ContentFacts drift = at("", true);
  drift.upper_layer_in_container = true;
  CHECK(judge(drift, HashState::pending).kind == Kind::need_hash);
  CHECK(judge(drift, HashState::known, &vendor).kind == Kind::allowed);
  CHECK(judge(drift, HashState::known, &changed).reason == Reason::drift);
  ContentFacts memfd;
  memfd.nameless = true;
  CHECK(judge(memfd, HashState::known, &vendor).kind == Kind::allowed);
  // A content that is unknown stays unexpected.
  CHECK(judge(at("/tmp/copy", false), HashState::unknown).kind == Kind::unexpected);
}

TEST_CASE("drift: a file written into a running container", "[content]") {
  Judge judge;
  ContentFacts drift = at("", true);
  drift.upper_layer_in_container = true;
  const auto decision = judge(drift, HashState::pending);
  CHECK(decision.kind == Kind::unexpected);
  CHECK(decision.reason == Reason::drift);
  // The image's own file (a lower layer) is judged by its path.
  CHECK(judge(at("", true), HashState::pending).kind == Kind::allowed);
}

TEST_CASE("a runtime's nameless copy is recognised by content, not by name", "[content]") {
  Judge judge;
  const ContentDigest runc = content(7), spoof = content(8);
  judge.runtimes.remember(runc.sha256, "/usr/sbin/runc");
  ContentFacts memfd;
  memfd.nameless = true;
  CHECK(judge(memfd, HashState::pending).kind == Kind::need_hash);
  auto decision = judge(memfd, HashState::known, &runc);
  CHECK(decision.kind == Kind::allowed);
  CHECK(decision.grounds == Grounds::runtime_clone);
  CHECK(decision.runtime == "/usr/sbin/runc");
  // Named like runc's copy, other content: the memfd rule of the path pipeline stands.
  decision = judge(memfd, HashState::known, &spoof);
  CHECK(decision.kind == Kind::unexpected);
  CHECK(decision.reason == Reason::path);
  CHECK(judge(memfd, HashState::unknown).reason == Reason::path);
}

TEST_CASE("an upgrade in progress holds a mismatch; its end decides with both versions",
          "[content]") {
  Judge judge;
  const ContentDigest old_ls = content(1), new_ls = content(11), evil = content(12);
  judge.packages.busy = true;
  // The new version is unpacked before dpkg records its checksum: held, not paged.
  CHECK(judge(at("/usr/bin/ls", true), HashState::known, &new_ls).kind == Kind::hold);
  CHECK(judge(at("/usr/bin/ls", true), HashState::unknown).kind == Kind::hold);
  // A match needs no wait.
  CHECK(judge(at("/usr/bin/ls", true), HashState::known, &old_ls).kind == Kind::allowed);
  // A file no package owns yet: a package being installed runs its new files (its
  // maintainer scripts, the services it starts) before dpkg records them. Held, with
  // its digest first.
  CHECK(judge(at("/usr/bin/new-tool", true), HashState::pending).kind == Kind::need_hash);
  CHECK(judge(at("/usr/bin/new-tool", true), HashState::known, &evil).kind == Kind::hold);
  // A file a glob admits where no package puts files needs no wait.
  CHECK(judge(at("/usr/local/bin/tool", true), HashState::pending).kind == Kind::allowed);

  // dpkg is done: the rebuilt index has the new checksum, the old one is kept for the
  // held verdicts.
  PackageIndex::Builder builder("dpkg");
  builder.add_file("/usr/bin/ls", builder.package("coreutils"), new_ls.md5);
  const PackageIndex upgraded = builder.build();
  Judge after;
  after.packages = PackageView{&upgraded, &judge.index, false, true};
  CHECK(after(at("/usr/bin/ls", true), HashState::known, &new_ls).kind == Kind::allowed);
  CHECK(after(at("/usr/bin/ls", true), HashState::known, &old_ls).kind == Kind::allowed);
  CHECK(after(at("/usr/bin/ls", true), HashState::known, &evil).reason == Reason::modified);
  // What the upgrade installed is its package's now; a stranger is still a stranger.
  PackageIndex::Builder installed("dpkg");
  installed.add_file("/usr/bin/ls", installed.package("coreutils"), new_ls.md5);
  installed.add_file("/usr/bin/new-tool", installed.package("new"), evil.md5);
  const PackageIndex with_new = installed.build();
  Judge later;
  later.packages = PackageView{&with_new, &judge.index, false, true};
  CHECK(later(at("/usr/bin/new-tool", true), HashState::known, &evil).kind == Kind::allowed);
  CHECK(later(at("/usr/bin/evil", true), HashState::known, &evil).reason == Reason::unpackaged);
  // The version that ran was replaced by the upgrade: it cannot be read any more.
  CHECK(after(at("/usr/bin/ls", true), HashState::unknown).kind == Kind::allowed);
  CHECK(after(at("/usr/bin/ls", true), HashState::unknown).grounds == Grounds::upgrade);
}

TEST_CASE("runtime binaries are remembered most recent first, bounded", "[content]") {
  CHECK(is_runtime_name("/usr/sbin/runc"));
  CHECK(is_runtime_name("/usr/bin/crun"));
  CHECK_FALSE(is_runtime_name("/usr/bin/runc.sh"));
  CHECK_FALSE(is_runtime_name("/usr/bin/truncate"));
  RuntimeBinaries runtimes;
  for (std::uint8_t i = 0; i < RuntimeBinaries::kCapacity + 4; ++i)
    runtimes.remember(content(i).sha256, "/usr/sbin/runc" + std::to_string(i));
  CHECK_FALSE(runtimes.find(content(0).sha256));
  CHECK_FALSE(runtimes.find(content(3).sha256));
  CHECK(*runtimes.find(content(4).sha256) == "/usr/sbin/runc4");
  CHECK(*runtimes.find(content(19).sha256) == "/usr/sbin/runc19");
  // Seen again: moved to the front, not added twice.
  runtimes.remember(content(4).sha256, "/usr/bin/runc");
  runtimes.remember(content(100).sha256, "/x/runc");
  CHECK(*runtimes.find(content(4).sha256) == "/usr/bin/runc");
  CHECK_FALSE(runtimes.find(content(5).sha256));
}

}  // namespace execmond

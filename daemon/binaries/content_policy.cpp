// SPDX-License-Identifier: Apache-2.0
#include "binaries/content_policy.h"

#include <algorithm>

#include "config/content_entry.h"

namespace execmond {
namespace {

using Kind = ContentDecision::Kind;
using Reason = ContentDecision::Reason;
using Grounds = ContentDecision::Grounds;

ContentDecision allowed(Grounds grounds) {
  ContentDecision decision;
  decision.kind = Kind::allowed;
  decision.grounds = grounds;
  return decision;
}

ContentDecision unexpected(Reason reason) {
  ContentDecision decision;
  decision.kind = Kind::unexpected;
  decision.reason = reason;
  return decision;
}

ContentDecision simple(Kind kind) {
  ContentDecision decision;
  decision.kind = kind;
  return decision;
}

}  // namespace

ContentAllowList::ContentAllowList(const std::vector<std::string>& entries) {
  for (const std::string& entry : entries) {
    if (!is_sha256_entry(entry)) continue;
    if (const auto digest =
            Sha256::from_hex(std::string_view(entry).substr(kSha256EntryPrefix.size())))
      digests_.push_back(*digest);
  }
  std::sort(digests_.begin(), digests_.end());
  digests_.erase(std::unique(digests_.begin(), digests_.end()), digests_.end());
}

const char* ContentDecision::reason_name(Reason reason) {
  switch (reason) {
    case Reason::none:
    case Reason::path:
      return "";
    case Reason::unpackaged:
      return "unpackaged";
    case Reason::modified:
      return "modified";
    case Reason::drift:
      return "drift";
    case Reason::unverified:
      return "unverified";
  }
  return "";
}

ContentDecision decide_content(const ContentFacts& facts, HashState hash,
                               const ContentDigest* digest, const ContentAllowList& content,
                               const PackageView& packages, const RuntimeBinaries& runtimes) {
  const bool known = hash == HashState::known && digest != nullptr;
  // 1. Allowed content, under any name.
  if (known && content.allows(digest->sha256)) return allowed(Grounds::content);
  // An unexpected verdict that a sha256: entry could still turn: wait for the content.
  const auto unless_content = [&](ContentDecision decision) {
    if (hash == HashState::pending && !content.empty()) return simple(Kind::need_hash);
    return decision;
  };

  // 2. Nameless: a runtime's own copy, or what the path pipeline said.
  if (facts.nameless) {
    if (hash == HashState::pending) return simple(Kind::need_hash);
    if (known) {
      if (auto runtime = runtimes.find(digest->sha256)) {
        ContentDecision decision = allowed(Grounds::runtime_clone);
        decision.runtime = std::move(*runtime);
        return decision;
      }
    }
    return unexpected(Reason::path);
  }

  // 3. Written into a running container.
  if (facts.upper_layer_in_container) return unless_content(unexpected(Reason::drift));

  // 4. and 5.: the package database, for files judged by their host path.
  const PackageIndex* index = packages.index;
  if (index == nullptr || facts.host_path.empty()) {
    return facts.path_admitted ? allowed(Grounds::path) : unless_content(unexpected(Reason::path));
  }
  const Md5* md5 = known ? &digest->md5 : nullptr;
  PackageIndex::Lookup owner = index->find(facts.host_path, md5);
  if (!owner.matches && packages.previous != nullptr) {
    const PackageIndex::Lookup before = packages.previous->find(facts.host_path, md5);
    if (before.matches || owner.ownership == PackageIndex::Ownership::not_owned) owner = before;
  }
  switch (owner.ownership) {
    case PackageIndex::Ownership::owned: {
      if (owner.matches) {
        ContentDecision decision = allowed(Grounds::package);
        decision.package = owner.package;
        return decision;
      }
      if (hash == HashState::pending) return simple(Kind::need_hash);
      if (packages.busy) return simple(Kind::hold);
      // Replaced while the package manager ran: the version that ran is gone, and the
      // package manager put what is there now.
      if (!known && packages.upgrade_ended) return allowed(Grounds::upgrade);
      ContentDecision decision =
          unless_content(unexpected(known ? Reason::modified : Reason::unverified));
      decision.package = owner.package;
      return decision;
    }
    case PackageIndex::Ownership::owned_without_checksum:
      return facts.path_admitted ? allowed(Grounds::path)
                                 : unless_content(unexpected(Reason::path));
    case PackageIndex::Ownership::not_owned:
      break;
  }
  if (facts.path_admitted && !index->in_package_directory(facts.host_path))
    return allowed(Grounds::path);
  // A package being installed runs its files (maintainer scripts, services it starts)
  // before dpkg records them: judged once it has.
  if (packages.busy && hash != HashState::pending) return simple(Kind::hold);
  if (packages.busy) return simple(Kind::need_hash);
  return unless_content(unexpected(Reason::unpackaged));
}

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// What a file's content says about an exec: the decision of issue 14, pure, on facts the
// verdict pipeline gathered (the path's own judgement included) and the content's
// digest when known.
//
// The rules, in order (README, "What the file is"):
//  1. A `sha256:` entry admits its content under any name, nameless copies included.
//  2. A nameless file (memfd, unlinked, O_TMPFILE) is a container runtime's own copy when
//     its content is an allowed runtime binary's (RuntimeBinaries); otherwise the path
//     pipeline's reason stands (memfd, deleted).
//  3. A file from a container's overlayfs upper layer (written after it started) is
//     `drift`.
//  4. With `packaged: true` and the host's package database loaded, a file judged by its
//     host path that a package owns runs only with the content the package recorded:
//     `modified` otherwise, whatever the globs say. While the package manager runs, the
//     verdict waits for it to finish (`hold`): an upgrade never pages.
//  5. A file no package owns: in a directory that holds packaged files (/usr/bin,
//     /etc/cron.daily), the globs cannot vouch for it: `unpackaged`. Elsewhere the globs
//     admit it, or it is `unpackaged` (with `packaged: true`) / `not_allowed`.
//     While the package manager runs, `unpackaged` waits for it too (a package being
//     installed runs its new files before dpkg records them).
//     A file owned without a checksum is judged by the globs alone.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "binaries/content_digest.h"
#include "binaries/package_index.h"
#include "binaries/runtime_binaries.h"

namespace execmond {

// The `sha256:` entries of `binaries: allow:`.
class ContentAllowList {
 public:
  ContentAllowList() = default;
  // Takes the sha256: entries of `entries` and ignores the globs (config validated both).
  explicit ContentAllowList(const std::vector<std::string>& entries);
  bool allows(const Sha256& content) const {
    return std::binary_search(digests_.begin(), digests_.end(), content);
  }
  bool empty() const { return digests_.empty(); }
  std::size_t size() const { return digests_.size(); }

 private:
  std::vector<Sha256> digests_;  // sorted
};

// What the verdict pipeline knows about one exec when content is asked.
struct ContentFacts {
  // The host's name of the file; empty when the host cannot name it, or when the exec
  // is judged in a container's own view (its paths are not the host's packages).
  std::string_view host_path;
  bool nameless = false;                  // memfd, unlinked, O_TMPFILE
  bool upper_layer_in_container = false;  // OVERLAY_UPPER, judged in a container's view
  bool path_admitted = false;             // a glob of `allow:` admits the judged path
};

enum class HashState { pending, known, unknown };

// The package database as the decision sees it.
struct PackageView {
  const PackageIndex* index = nullptr;  // null: no database (or `packaged: false`)
  // The index the held verdict began with, when it was rebuilt since: an upgrade's old
  // checksum counts as much as its new one.
  const PackageIndex* previous = nullptr;
  bool busy = false;           // the package manager is changing files
  bool upgrade_ended = false;  // a held verdict's second look, after the upgrade
};

struct ContentDecision {
  enum class Kind {
    allowed,
    unexpected,
    need_hash,  // the decision depends on the content: wait for the digest
    hold,       // the package manager is running: decide when it is done
  };
  enum class Reason {
    none,
    path,  // the path pipeline's own reason (not_allowed, memfd, deleted, ...)
    unpackaged,
    modified,
    drift,
    unverified,  // a packaged file whose content could not be read
  };
  // Why it is allowed, for the log and the trace.
  enum class Grounds { none, path, content, runtime_clone, package, upgrade };

  Kind kind = Kind::unexpected;
  Reason reason = Reason::none;
  Grounds grounds = Grounds::none;
  std::string_view package;  // the owner, for packaged, modified
  std::string runtime;       // runtime_clone: the runtime binary's host path

  static const char* reason_name(Reason reason);
};

// `digest`: the content when `hash` is known.
ContentDecision decide_content(const ContentFacts& facts, HashState hash,
                               const ContentDigest* digest, const ContentAllowList& content,
                               const PackageView& packages, const RuntimeBinaries& runtimes);

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// The binaries an operator expects: `binaries: allow:` globs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "events/path_glob.h"

namespace execmond {

class BinaryAllowList {
 public:
  BinaryAllowList() = default;
  // Throws InvalidGlob for the first pattern that is not one (config validated them).
  // `sha256:` entries are content, not paths: ContentAllowList takes those.
  explicit BinaryAllowList(const std::vector<std::string>& patterns);

  // A path no pattern admits is unexpected. One thread at a time. (A file with no
  // honest, whole name is never asked about: binaries/binary_judge.h.)
  bool allows(std::string_view path) const;

 private:
  std::vector<PathGlob> globs_;
};

}  // namespace execmond

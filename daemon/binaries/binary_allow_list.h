// The binaries an operator expects: `binaries: allow:` globs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "binaries/resolved_binary.h"
#include "events/path_glob.h"

namespace execmond {

class BinaryAllowList {
 public:
  BinaryAllowList() = default;
  // Throws InvalidGlob for the first pattern that is not one (config validated them).
  // `sha256:` entries are content, not paths: ContentAllowList takes those.
  explicit BinaryAllowList(const std::vector<std::string>& patterns);

  // A path no pattern admits is unexpected. One thread at a time.
  bool allows(std::string_view path) const;
  // A binary with no honest, whole path is never allowed, whatever the patterns say.
  bool allows(const ResolvedBinary& binary) const {
    return binary.may_be_allowed() && allows(binary.path());
  }

 private:
  std::vector<PathGlob> globs_;
};

}  // namespace execmond

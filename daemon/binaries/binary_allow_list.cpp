// SPDX-License-Identifier: Apache-2.0
#include "binaries/binary_allow_list.h"

#include <algorithm>

#include "config/content_entry.h"

namespace execmond {

BinaryAllowList::BinaryAllowList(const std::vector<std::string>& patterns) {
  globs_.reserve(patterns.size());
  for (const std::string& pattern : patterns)
    if (!is_sha256_entry(pattern)) globs_.emplace_back(pattern);  // content: ContentAllowList
}

bool BinaryAllowList::allows(std::string_view path) const {
  return std::any_of(globs_.begin(), globs_.end(),
                     [path](const PathGlob& glob) { return glob.matches(path); });
}

}  // namespace execmond

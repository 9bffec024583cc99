// SPDX-License-Identifier: Apache-2.0
#include "events/label_filter.h"

#include <fnmatch.h>

#include <utility>

namespace execmond {
namespace {

bool matches_any(const std::vector<std::string>& globs, const std::string& value) {
  for (const std::string& glob : globs)
    if (fnmatch(glob.c_str(), value.c_str(), 0) == 0) return true;
  return false;
}

}  // namespace

LabelFilter::LabelFilter(std::vector<std::string> include_globs,
                         std::vector<std::string> exclude_globs)
    : include_globs_(std::move(include_globs)), exclude_globs_(std::move(exclude_globs)) {}

// The daemon runs it once per series (the series table caches verdicts), so a copy for
// the terminating NUL costs little.
bool LabelFilter::admits(std::string_view value) const {
  if (include_globs_.empty() && exclude_globs_.empty()) return true;
  const std::string text(value);
  if (!include_globs_.empty() && !matches_any(include_globs_, text)) return false;
  return !matches_any(exclude_globs_, text);
}

}  // namespace execmond

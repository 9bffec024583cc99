#include "events/label_filter.h"

#include <fnmatch.h>

#include <utility>

namespace execmond {
namespace {

// FNM_PATHNAME: a '/' is matched only by a '/', so that a pattern written for system units
// ("sshd.service", "*.service") never matches a user's ("user@1000.service/sshd.service"):
// a user cannot hide execs behind an exclude_units entry, nor pass an include_units one.
bool matches_any(const std::vector<std::string>& globs, const std::string& value) {
  for (const std::string& glob : globs)
    if (fnmatch(glob.c_str(), value.c_str(), FNM_PATHNAME) == 0) return true;
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

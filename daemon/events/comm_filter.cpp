// SPDX-License-Identifier: Apache-2.0
#include "events/comm_filter.h"

#include <fnmatch.h>

#include <string_view>

namespace execmond {
namespace {

bool matches_any(const std::vector<std::string>& globs, const char* name) {
  for (const std::string& glob : globs)
    if (fnmatch(glob.c_str(), name, 0) == 0) return true;
  return false;
}

}  // namespace

CommFilter::CommFilter(std::vector<std::string> include_globs,
                       std::vector<std::string> exclude_globs)
    : include_globs_(std::move(include_globs)), exclude_globs_(std::move(exclude_globs)) {}

bool CommFilter::admits(const CommName& comm) const {
  if (admits_every_name()) return true;
  char name[CommName::kCapacity + 1] = {};
  comm.view().copy(name, CommName::kCapacity);
  if (!include_globs_.empty() && !matches_any(include_globs_, name)) return false;
  return !matches_any(exclude_globs_, name);
}

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// Which process names to count or show: fnmatch(3) globs on the name.
#pragma once

#include <string>
#include <vector>

#include "events/records.h"

namespace execmond {

class CommFilter {
 public:
  CommFilter() = default;
  CommFilter(std::vector<std::string> include_globs, std::vector<std::string> exclude_globs);

  // An empty include list admits every name; an exclude match wins over an include one.
  bool admits(const CommName& comm) const;
  bool admits_every_name() const { return include_globs_.empty() && exclude_globs_.empty(); }

 private:
  std::vector<std::string> include_globs_;
  std::vector<std::string> exclude_globs_;
};

}  // namespace execmond

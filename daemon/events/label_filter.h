// SPDX-License-Identifier: Apache-2.0
// Which label values (units) to count or show: fnmatch(3) globs on the value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace execmond {

// An empty include list admits every value; an exclude match wins over an include one.
class LabelFilter {
 public:
  LabelFilter() = default;
  LabelFilter(std::vector<std::string> include_globs, std::vector<std::string> exclude_globs);
  bool admits(std::string_view value) const;

 private:
  std::vector<std::string> include_globs_;
  std::vector<std::string> exclude_globs_;
};

}  // namespace execmond

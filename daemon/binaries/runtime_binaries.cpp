// SPDX-License-Identifier: Apache-2.0
#include "binaries/runtime_binaries.h"

#include <algorithm>

namespace execmond {

bool is_runtime_name(std::string_view host_path) {
  const std::string_view name = host_path.substr(host_path.rfind('/') + 1);
  return name == "runc" || name == "crun" || name == "youki";
}

void RuntimeBinaries::remember(const Sha256& content, std::string_view host_path) {
  const auto end = runtimes_.begin() + static_cast<std::ptrdiff_t>(size_);
  auto found =
      std::find_if(runtimes_.begin(), end, [&](const Runtime& r) { return r.content == content; });
  if (found == end) {
    if (size_ < kCapacity) ++size_;
    found = runtimes_.begin() + static_cast<std::ptrdiff_t>(size_ - 1);
  }
  // Most recent first: the oldest falls off the end when full.
  std::rotate(runtimes_.begin(), found, found + 1);
  runtimes_[0] = Runtime{content, std::string(host_path)};
}

std::optional<std::string> RuntimeBinaries::find(const Sha256& content) const {
  for (std::size_t i = 0; i < size_; ++i)
    if (runtimes_[i].content == content) return runtimes_[i].host_path;
  return std::nullopt;
}

}  // namespace execmond

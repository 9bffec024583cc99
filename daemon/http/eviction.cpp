// SPDX-License-Identifier: Apache-2.0
#include "http/eviction.h"

namespace execmond::http {

std::optional<std::size_t> choose_eviction(const std::vector<Occupant>& occupants) {
  for (const auto stage :
       {Occupant::Stage::kIdle, Occupant::Stage::kIncomplete, Occupant::Stage::kStalled}) {
    std::optional<std::size_t> oldest;
    for (std::size_t i = 0; i < occupants.size(); ++i) {
      if (occupants[i].stage != stage) continue;
      if (!oldest || occupants[i].since < occupants[*oldest].since) oldest = i;
    }
    if (oldest) return oldest;
  }
  return std::nullopt;
}

}  // namespace execmond::http

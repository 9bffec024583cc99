// SPDX-License-Identifier: Apache-2.0
// Which connection gives way when the table is full and a new client connects. A pure
// function, so the policy is tested without sockets.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace execmond::http {

struct Occupant {
  enum class Stage {
    kIdle,        // kept alive between requests, nothing received of the next
    kIncomplete,  // TLS handshake or request head still arriving
    kStalled,     // its response waits for a client that has not read for a while
    kServing,     // a complete request: being authenticated, rendered or written
  };
  Stage stage = Stage::kIdle;
  // When it entered that stage: the longest-waiting goes first.
  std::chrono::steady_clock::time_point since;
};

// The oldest idle connection, else the oldest incomplete one, else the one whose client
// has left its response unread longest; never one being served, so no flood of new
// connections can cut off a scrape in progress. nullopt when every connection is being
// served (for a moment: rendering and bcrypt are bounded): the newcomer is refused.
std::optional<std::size_t> choose_eviction(const std::vector<Occupant>& occupants);

}  // namespace execmond::http

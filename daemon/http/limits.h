// SPDX-License-Identifier: Apache-2.0
// What one client of /metrics may cost the daemon, and for how long. The README's
// "The /metrics endpoint" section quotes these numbers.
#pragma once

#include <chrono>
#include <cstddef>

namespace execmond::http {

using namespace std::chrono_literals;

// Connections held at once, whatever state they are in; each costs one descriptor and a
// few KB. Lowered to fit RLIMIT_NOFILE if that is smaller.
inline constexpr std::size_t kMaxConnections = 512;
// The request line and headers; a request with a body is refused.
inline constexpr std::size_t kMaxRequestHead = 8 * 1024;
// From accept (or from the first byte of a later request on a kept-alive connection) to
// the blank line that ends the request head: slowloris gets this long, no longer.
inline constexpr std::chrono::steady_clock::duration kRequestHeadTimeout = 5s;
// From accept to the end of the TLS handshake.
inline constexpr std::chrono::steady_clock::duration kTlsHandshakeTimeout = 5s;
// A kept-alive connection with no request in progress. Prometheus scrapes every 15 s to
// 1 min; a longer gap costs it only a new connection.
inline constexpr std::chrono::steady_clock::duration kKeepAliveTimeout = 60s;
// A client that takes none of its response for this long is cut off.
inline constexpr std::chrono::steady_clock::duration kWriteStallTimeout = 10s;
// A client that has taken none of its response for this long may be evicted to make room.
inline constexpr std::chrono::steady_clock::duration kStalledAfter = 1s;
// How often deadlines are checked: they are enforced to within this.
inline constexpr std::chrono::steady_clock::duration kDeadlineResolution = 250ms;

}  // namespace execmond::http

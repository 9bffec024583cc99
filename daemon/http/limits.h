// SPDX-License-Identifier: Apache-2.0
// What one client of /metrics may cost the daemon, and for how long. The README's
// "The /metrics endpoint" section quotes these numbers.
#pragma once

#include <chrono>
#include <cstddef>

#include "http/client_throttle.h"

namespace execmond::http {

using namespace std::chrono_literals;

// --- Connections ---------------------------------------------------------------------
// Connections held at once, whatever state they are in; each costs one descriptor and a
// few KB. Lowered to fit RLIMIT_NOFILE if that is smaller (descriptor_budget.h).
inline constexpr std::size_t kMaxConnections = 512;
// Descriptors kept free for what the daemon opens after start (a reload's files, a
// cgroup directory, a journal connection) on top of what it holds when the table is sized.
inline constexpr std::size_t kSpareDescriptors = 32;
// The table is never smaller than this, however low the limit: one scrape must get in.
inline constexpr std::size_t kMinConnections = 8;

// --- Requests ------------------------------------------------------------------------
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

// --- Fairness: what one connection gets of one turn of the event loop ----------------
// Requests answered and bytes sent (a pipelining client gets the rest on later turns,
// after everyone else has had theirs); connections with work left over run again, at most
// this many a turn (the longest waiting first), so that a turn costs the same however many
// greedy clients there are; TLS handshake steps for all connections together (each may
// cost a signature: a flood of them must not hold up the scrapes in between).
inline constexpr std::size_t kRequestsPerTurn = 4;
inline constexpr std::size_t kBytesPerTurn = 256 * 1024;
inline constexpr std::size_t kDeferredPerTurn = 16;
inline constexpr std::size_t kHandshakesPerTurn = 8;

// --- Responses waiting on slow clients -------------------------------------------------
// A client that takes none of its response for this long is cut off.
inline constexpr std::chrono::steady_clock::duration kWriteStallTimeout = 10s;
// A client that has taken none of its response for this long may be evicted to make room.
inline constexpr std::chrono::steady_clock::duration kStalledAfter = 1s;
// The kernel's send buffer of a connection (SO_SNDBUF; the kernel doubles it): what a
// client that reads slowly can make the kernel hold for it, instead of up to 4 MiB.
inline constexpr int kSocketSendBuffer = 128 * 1024;
// What is held for clients still receiving a scrape (one copy of each render they read,
// and each plain-text scrape's inflate window) is bounded by the larger of this and twice
// the newest render; beyond it the slowest senders are cut off.
inline constexpr std::size_t kMinResponseBudget = 2 * 1024 * 1024;
// What a plain-text scrape holds on its own while it is sent: the cursor's 16 KiB window
// and zlib's inflate state (exposition.h).
inline constexpr std::size_t kPlainScrapeBytes = 60 * 1024;
// When clients that made the daemon hold at least this much are gone, freed memory is
// handed back to the system (malloc_trim).
inline constexpr std::size_t kTrimAfterHeld = 1024 * 1024;
// While the renders held for clients fill the budget, a scrape is answered from the
// newest render if it is at most this old, instead of rendering another.
inline constexpr std::chrono::steady_clock::duration kMaxSharedRenderAge = 1s;

// --- Authentication and TLS budgets per client address ---------------------------------
// New passwords (bcrypt checks) a client address may have checked: 10 at once, then one
// a second. Repeating a password checked before costs nothing and is not counted.
inline constexpr Rate kPasswordCheckRate{1.0, 10.0};
// bcrypt checks waiting at once, for everyone but clients that verified before, and
// reserved for those.
inline constexpr std::size_t kMaxQueuedPasswordChecks = 16;
inline constexpr std::size_t kReservedPasswordChecks = 4;
// Full TLS handshakes a client address may start: 40 at once, then 10 a second. More are
// closed unanswered, before any cryptography.
inline constexpr Rate kHandshakeRate{10.0, 40.0};
// Client addresses with a budget of their own; beyond, they share one.
inline constexpr std::size_t kMaxThrottledClients = 4096;

// --- Housekeeping ------------------------------------------------------------------------
// How often deadlines are checked: they are enforced to within this.
inline constexpr std::chrono::steady_clock::duration kDeadlineResolution = 250ms;
// How often the TLS files are checked for a renewal.
inline constexpr std::chrono::milliseconds kCertificateCheckPeriod = 1000ms;
// A served certificate closer than this to its end is warned about.
inline constexpr std::chrono::hours kCertificateWarning = 14 * 24h;

}  // namespace execmond::http

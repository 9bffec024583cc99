// SPDX-License-Identifier: Apache-2.0
// How many connections /metrics can hold: as many as the descriptor limit leaves once the
// daemon's own descriptors (BPF programs and maps, the ring buffer, inotify, logs) are
// counted, and no more than kMaxConnections.
#pragma once

#include <cstddef>
#include <cstdint>

namespace execmond::http {

struct DescriptorLimit {
  std::uint64_t soft = 0;  // UINT64_MAX: unlimited
  std::uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard one (what systemd and most distributions set
// low for select()'s sake, which execmond does not use); the limits in force after.
DescriptorLimit raise_descriptor_limit();
DescriptorLimit descriptor_limit();

// Descriptors this process has open now (/proc/self/fd).
std::size_t open_descriptors();

// The connection table for `limit` with `in_use` descriptors taken: the soft limit less
// those and kSpareDescriptors, within [kMinConnections, kMaxConnections].
std::size_t connection_capacity(std::uint64_t soft_limit, std::size_t in_use);

}  // namespace execmond::http

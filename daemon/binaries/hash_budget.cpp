// SPDX-License-Identifier: Apache-2.0
#include "binaries/hash_budget.h"

#include <algorithm>

namespace execmond {

std::uint64_t HashBudget::charge(std::uint64_t cpu_ns, std::uint64_t bytes, std::uint64_t now_ns) {
  const double burst_s = static_cast<double>(limits_.burst_ns) * 1e-9;
  const double cpu_capacity = static_cast<double>(limits_.burst_ns) * limits_.cpu_share;
  const double byte_capacity = burst_s * limits_.bytes_per_second;
  if (!started_) {
    started_ = true;
    updated_ns_ = now_ns;
    cpu_tokens_ = cpu_capacity;
    byte_tokens_ = byte_capacity;
  }
  if (now_ns > updated_ns_) {
    const double elapsed = static_cast<double>(now_ns - updated_ns_);
    cpu_tokens_ = std::min(cpu_capacity, cpu_tokens_ + elapsed * limits_.cpu_share);
    byte_tokens_ =
        std::min(byte_capacity, byte_tokens_ + elapsed * 1e-9 * limits_.bytes_per_second);
    updated_ns_ = now_ns;
  }
  cpu_tokens_ -= static_cast<double>(cpu_ns);
  byte_tokens_ -= static_cast<double>(bytes);
  double sleep_ns = 0;
  if (cpu_tokens_ < 0) sleep_ns = -cpu_tokens_ / limits_.cpu_share;
  if (byte_tokens_ < 0)
    sleep_ns = std::max(sleep_ns, -byte_tokens_ / limits_.bytes_per_second * 1e9);
  return static_cast<std::uint64_t>(sleep_ns);
}

}  // namespace execmond

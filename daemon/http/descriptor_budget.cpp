// SPDX-License-Identifier: Apache-2.0
#include "http/descriptor_budget.h"

#include <dirent.h>
#include <sys/resource.h>

#include <algorithm>
#include <limits>

#include "http/limits.h"

namespace execmond::http {
namespace {

std::uint64_t as_count(rlim_t value) {
  return value == RLIM_INFINITY ? std::numeric_limits<std::uint64_t>::max()
                                : static_cast<std::uint64_t>(value);
}

}  // namespace

DescriptorLimit descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
  return {as_count(limit.rlim_cur), as_count(limit.rlim_max)};
}

DescriptorLimit raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    // Failure leaves the soft limit where it was, which the table is then sized for.
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  return descriptor_limit();
}

std::size_t open_descriptors() {
  DIR* directory = opendir("/proc/self/fd");
  if (directory == nullptr) return 0;
  std::size_t count = 0;
  while (readdir(directory) != nullptr) ++count;
  closedir(directory);
  // ".", ".." and the descriptor of the directory being read.
  return count > 3 ? count - 3 : 0;
}

std::size_t connection_capacity(std::uint64_t soft_limit, std::size_t in_use) {
  const std::uint64_t taken = static_cast<std::uint64_t>(in_use) + kSpareDescriptors;
  const std::uint64_t left = soft_limit > taken ? soft_limit - taken : 0;
  return static_cast<std::size_t>(
      std::clamp<std::uint64_t>(left, kMinConnections, kMaxConnections));
}

}  // namespace execmond::http

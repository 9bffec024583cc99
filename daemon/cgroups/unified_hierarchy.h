// SPDX-License-Identifier: Apache-2.0
// Where the cgroup v2 (unified) hierarchy is mounted.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace execmond {

// From the text of /proc/self/mounts: /sys/fs/cgroup when it is cgroup2 (pure v2
// hosts), else /sys/fs/cgroup/unified (hybrid hosts), else the first cgroup2 mount.
std::optional<std::string> find_unified_hierarchy(std::string_view mounts);

// Reads /proc/self/mounts; nullopt when it cannot be read or has no cgroup2 mount.
std::optional<std::string> locate_unified_hierarchy();

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
#include "cgroups/unified_hierarchy.h"

#include <fstream>
#include <sstream>

namespace execmond {

std::optional<std::string> find_unified_hierarchy(std::string_view mounts) {
  std::optional<std::string> first;
  bool unified = false;
  std::istringstream lines{std::string(mounts)};
  std::string line;
  while (std::getline(lines, line)) {
    // "<source> <mount point> <type> <options> <dump> <pass>"; spaces in the mount point
    // are written \040, and the cgroup mount points looked for have none.
    std::istringstream fields(line);
    std::string source, mount_point, type;
    if (!(fields >> source >> mount_point >> type) || type != "cgroup2") continue;
    if (mount_point == "/sys/fs/cgroup") return mount_point;
    if (mount_point == "/sys/fs/cgroup/unified") unified = true;
    if (!first) first = mount_point;
  }
  if (unified) return std::string("/sys/fs/cgroup/unified");
  return first;
}

std::optional<std::string> locate_unified_hierarchy() {
  std::ifstream file("/proc/self/mounts");
  if (!file) return std::nullopt;
  std::ostringstream text;
  text << file.rdbuf();
  return find_unified_hierarchy(text.str());
}

}  // namespace execmond

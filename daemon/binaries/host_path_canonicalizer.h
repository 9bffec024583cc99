// SPDX-License-Identifier: Apache-2.0
// Names a path as the host's kernel would resolve its directories: a package database
// records /bin/ls, but on a merged-/usr host (/bin -> usr/bin) the file that runs is
// /usr/bin/ls, and that is the name the daemon judges.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace execmond {

class HostPathCanonicalizer {
 public:
  // `root_fd`: the host's root (open_root(kHostRoot)); kept open by the caller.
  explicit HostPathCanonicalizer(int root_fd) : root_fd_(root_fd) {}

  // `path` (absolute) with each directory component resolved: symlinks followed as the
  // kernel follows them (relative to their directory, absolute ones from the host's
  // root; at most 40), "." and ".." after that. The last component is kept as it is (a
  // package's symlink stays a symlink). Components that do not exist are kept.
  std::string canonical(std::string_view path);

  // fstatat() calls so far: one per distinct directory.
  std::size_t lookups() const { return lookups_; }

 private:
  const std::string& directory(const std::string& path, int links);

  int root_fd_;
  std::size_t lookups_ = 0;
  std::unordered_map<std::string, std::string> directories_;
};

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
// Reading the host's files from wherever the daemon runs: through PID 1's root
// (/proc/1/root), resolving every path inside that root as the host would.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "service/file_descriptor.h"

namespace execmond {

inline constexpr const char* kHostRoot = "/proc/1/root";

// An O_PATH descriptor of the root directory at `root` (kHostRoot, or a directory a test
// makes). Invalid (errno set) if it cannot be opened.
FileDescriptor open_root(const std::string& root);

// openat2(root_fd, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): an absolute symlink met
// on the way starts again at that root (not at the daemon's, which a plain open of
// "/proc/1/root/<path>" would do) and ".." stops there. -1 and errno on failure.
int open_in_root(int root_fd, std::string_view path, int flags);

// The whole file, if it is a regular file of at most `max_bytes`. Empty optional-like:
// returns false and sets errno (EFBIG when larger).
bool read_file_in_root(int root_fd, std::string_view path, std::size_t max_bytes,
                       std::string& contents);

}  // namespace execmond

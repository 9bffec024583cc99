// Resolves a path the way the kernel's path lookup does (fs/namei.c), from userspace:
// one component at a time, each opened O_PATH | O_NOFOLLOW under the directory before
// it, symbolic links followed (at most 40, MAXSYMLINKS), `..` taken physically and never
// above the given root, every mount crossed as the kernel crosses it in the mount
// namespace the directories belong to. Rooted at /proc/PID/root and starting at
// /proc/PID/cwd it finds the file a process's exec of that path ran, never folding `..`
// in a string.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "binaries/file_facts.h"
#include "service/file_descriptor.h"

namespace execmond {

inline constexpr int kMaxSymlinks = 40;        // include/linux/namei.h MAXSYMLINKS
inline constexpr std::size_t kPathMax = 4096;  // PATH_MAX, its NUL included
inline constexpr std::size_t kNameMax = 255;   // NAME_MAX

struct WalkedPath {
  FileDescriptor file;  // O_PATH
  FileFacts facts;
  // Its name from the root: absolute, every symbolic link replaced by its target and
  // every `..` applied (the name the process itself would see in /proc/PID/exe).
  std::string path;
};

// errno values the kernel would give (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, EACCES …),
// and EXDEV for a path this walker will not follow: a symbolic link on procfs (magic
// links such as /proc/self/fd/N jump where their text does not say), or a walk that
// left the root (a working directory outside the process's root).
using WalkResult = std::variant<WalkedPath, int>;

// `root`: the directory `/` means; `start`: where a relative path starts, whose name
// from `root` is `start_path` (absolute). Both O_PATH directories.
WalkResult walk_path(int root, int start, std::string_view start_path, std::string_view path);

}  // namespace execmond

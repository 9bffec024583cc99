// SPDX-License-Identifier: Apache-2.0
#include "binaries/host_path_canonicalizer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace execmond {
namespace {

constexpr int kMaxLinks = 40;  // the kernel's MAXSYMLINKS

std::string join(const std::string& directory, std::string_view name) {
  std::string path = directory == "/" ? std::string() : directory;
  path += '/';
  path += name;
  return path;
}

std::string parent_of(const std::string& canonical_directory) {
  const std::size_t slash = canonical_directory.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : canonical_directory.substr(0, slash);
}

}  // namespace

std::string HostPathCanonicalizer::canonical(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return std::string(path);
  const std::string directory_path(path.substr(0, slash == 0 ? 1 : slash));
  return join(directory(directory_path, 0), path.substr(slash + 1));
}

const std::string& HostPathCanonicalizer::directory(const std::string& path, int links) {
  if (const auto found = directories_.find(path); found != directories_.end()) return found->second;
  std::string resolved;
  const std::size_t slash = path.rfind('/');
  if (path.empty() || path == "/" || slash == std::string::npos) {
    resolved = "/";
  } else {
    const std::string parent = directory(path.substr(0, slash == 0 ? 1 : slash), links);
    const std::string_view name = std::string_view(path).substr(slash + 1);
    if (name.empty() || name == ".") {
      resolved = parent;
    } else if (name == "..") {
      resolved = parent_of(parent);
    } else {
      resolved = join(parent, name);
      struct stat info {};
      ++lookups_;
      // `resolved` holds no symlink but its last component: only that one is looked at.
      if (links < kMaxLinks &&
          ::fstatat(root_fd_, resolved.c_str() + 1, &info, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(info.st_mode)) {
        char target[4096];
        const ssize_t size = ::readlinkat(root_fd_, resolved.c_str() + 1, target, sizeof(target));
        if (size > 0 && static_cast<std::size_t>(size) < sizeof(target)) {
          const std::string_view link(target, static_cast<std::size_t>(size));
          std::string followed = link.front() == '/' ? std::string(link) : join(parent, link);
          while (followed.size() > 1 && followed.back() == '/') followed.pop_back();
          resolved = directory(followed, links + 1);
        }
      }
    }
  }
  return directories_.emplace(path, std::move(resolved)).first->second;
}

}  // namespace execmond

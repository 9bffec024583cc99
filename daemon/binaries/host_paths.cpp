#include "binaries/host_paths.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "binaries/file_facts.h"

namespace execmond {

std::optional<std::string_view> path_under(std::string_view root, std::string_view path) {
  if (root == "/") return path == "/" ? std::string_view() : path;
  if (path.substr(0, root.size()) != root) return std::nullopt;
  const std::string_view rest = path.substr(root.size());
  if (!rest.empty() && rest.front() != '/') return std::nullopt;
  return rest;
}

std::string join_mount_path(std::string_view mount_point, std::string_view rest) {
  if (rest.empty()) return std::string(mount_point);
  if (mount_point == "/") return std::string(rest);
  std::string path(mount_point);
  path += rest;
  return path;
}

std::vector<HostPathCandidate> host_path_candidates(const MountTable& table, std::uint32_t dev,
                                                    std::string_view fs_path) {
  std::vector<const MountEntry*> mounts = table.mounts_of(dev);
  std::stable_sort(mounts.begin(), mounts.end(), [](const MountEntry* a, const MountEntry* b) {
    return a->root.size() < b->root.size();
  });
  std::vector<HostPathCandidate> candidates;
  for (const MountEntry* mount : mounts) {
    const std::optional<std::string_view> rest = path_under(mount->root, fs_path);
    if (!rest) continue;
    candidates.push_back({join_mount_path(mount->mount_point, *rest), mount->mount_id});
  }
  return candidates;
}

HostRoot open_host_root() {
  HostRoot host;
  host.root = FileDescriptor(::open("/proc/1/root", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (host.root) {
    host.mountinfo = "/proc/1/mountinfo";
    host.pid1 = true;
    return host;
  }
  host.why = std::string("/proc/1/root: ") + std::strerror(errno);
  host.root = FileDescriptor(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  host.mountinfo = "/proc/self/mountinfo";
  std::string pid1_table, own_table;
  const FileDescriptor pid1(::open("/proc/1/mountinfo", O_RDONLY | O_CLOEXEC));
  const FileDescriptor own(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
  host.same_table =
      pid1 && own && read_mountinfo(pid1.get(), pid1_table, LiveMountTable::kMaxBytes) &&
      read_mountinfo(own.get(), own_table, LiveMountTable::kMaxBytes) && pid1_table == own_table;
  return host;
}

HostPaths::HostPaths(FileDescriptor root, LiveMountTable& mounts)
    : root_(std::move(root)), mounts_(mounts) {}

namespace {

bool verify(int root, const HostPathCandidate& candidate, std::uint64_t ino) {
  const FileDescriptor file = open_exact_path(root, candidate.path);
  if (!file) return false;
  const std::optional<FileFacts> facts = file_facts(file.get());
  // The inode, reached through that very mount: on btrfs subvolumes and overlayfs the
  // device statx reports is not the superblock's, the mount id always is the mount's.
  return facts && facts->ino == ino && facts->mount_id == candidate.mount_id;
}

}  // namespace

HostName name_in(const MountTable& table, int root, std::uint32_t dev, std::uint64_t ino,
                 std::string_view fs_path, std::string_view preferred) {
  const std::vector<HostPathCandidate> candidates = host_path_candidates(table, dev, fs_path);
  if (candidates.empty()) return {HostName::Status::kNotVisible, {}};
  if (!preferred.empty()) {
    for (const HostPathCandidate& candidate : candidates)
      if (candidate.path == preferred && verify(root, candidate, ino))
        return {HostName::Status::kVisible, candidate.path};
  }
  // Bounded: a filesystem bound at thousands of places costs a few checks, not thousands.
  const std::size_t checked = std::min(candidates.size(), kMaxNameChecks);
  for (std::size_t i = 0; i < checked; ++i)
    if (verify(root, candidates[i], ino)) return {HostName::Status::kVisible, candidates[i].path};
  return {HostName::Status::kUnverified, {}};
}

std::optional<FilesystemLocation> filesystem_location(const MountTable& table,
                                                      std::uint64_t mount_id,
                                                      std::string_view path) {
  const MountEntry* mount = table.by_id(static_cast<std::uint32_t>(mount_id));
  if (!mount || mount_id > UINT32_MAX) return std::nullopt;
  const std::optional<std::string_view> rest = path_under(mount->mount_point, path);
  if (!rest || mount->root.empty() || mount->root.front() != '/') return std::nullopt;
  return FilesystemLocation{mount->dev, join_mount_path(mount->root, *rest)};
}

HostName HostPaths::name(std::uint32_t dev, std::uint64_t ino, std::string_view fs_path,
                         std::string_view preferred) {
  return name_in(mounts_.current(), root_.get(), dev, ino, fs_path, preferred);
}

}  // namespace execmond

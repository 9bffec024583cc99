// Names a file as the host sees it. The kernel identifies the file that ran by its
// superblock (dev), its inode and its path inside its own filesystem (dentries up to the
// filesystem's root, crossing no mount): nothing a process's mounts or root can change.
// The host's mount table says where that filesystem, or a directory of it, is mounted;
// the name found there is checked by opening it through the host's root.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binaries/live_mount_table.h"
#include "binaries/mount_table.h"
#include "service/file_descriptor.h"

namespace execmond {

struct HostName {
  enum class Status {
    kVisible,     // `path` is the host's name of the file, checked
    kNotVisible,  // the host has no mount that shows this file: a private tmpfs or
                  // overlay, a detached mount, a directory no host mount exposes
    kUnverified,  // a host mount shows where it should be, but another file (or none)
                  // is there now: renamed, replaced, or covered by another mount
  };
  Status status = Status::kNotVisible;
  std::string path;
};

// Where the file would be, as `table` names it: for each mount of `dev` whose root
// contains `fs_path`, its mount point joined with the rest. The filesystem's own mounts
// (shortest root, "/" first) come before binds of its directories, then table order.
struct HostPathCandidate {
  std::string path;
  std::uint32_t mount_id;
};
std::vector<HostPathCandidate> host_path_candidates(const MountTable& table, std::uint32_t dev,
                                                    std::string_view fs_path);

// `path` made relative to `root` ("/a" in "/a/b" is "/b"; "/a" itself is ""), or nullopt
// when `root` does not contain it. Whole components only: "/ab" is not in "/a".
std::optional<std::string_view> path_under(std::string_view root, std::string_view path);

// "/mnt" + "/b" = "/mnt/b", "/" + "/b" = "/b", "/mnt" + "" = "/mnt".
std::string join_mount_path(std::string_view mount_point, std::string_view rest);

// The name `table` gives the file (dev, ino) whose path inside its filesystem is
// `fs_path`, checked under `root` (the directory the table's mount points are relative
// to). `preferred` as for HostPaths::name(). At most kMaxNameChecks names are checked.
inline constexpr std::size_t kMaxNameChecks = 16;
HostName name_in(const MountTable& table, int root, std::uint32_t dev, std::uint64_t ino,
                 std::string_view fs_path, std::string_view preferred = {});

// Where a file reached at `path` (a name from the table's root) through the mount
// `mount_id` lives inside its own filesystem: its device and path there.
struct FilesystemLocation {
  std::uint32_t dev = 0;
  std::string fs_path;
};
std::optional<FilesystemLocation> filesystem_location(const MountTable& table,
                                                      std::uint64_t mount_id,
                                                      std::string_view path);

// Where the host's root and mount table are read: PID 1's (/proc/1/root and
// /proc/1/mountinfo; CAP_SYS_PTRACE for the root). Where PID 1's root cannot be opened
// (no CAP_SYS_PTRACE, or a sandbox that hides it even from root, as the development VM
// does), execmond's own root and table, which are the host's when execmond shares PID
// 1's mount table (checked) and otherwise make host-only files "unverified".
struct HostRoot {
  FileDescriptor root;      // O_PATH directory
  std::string mountinfo;    // the table that goes with it
  bool pid1 = false;        // PID 1's own
  bool same_table = false;  // not PID 1's, but this process's table equals PID 1's
  std::string why;          // why PID 1's root was not used
};
HostRoot open_host_root();

class HostPaths {
 public:
  // `root`: the host's root directory (O_PATH of /proc/1/root); `mounts`: the host's
  // table (/proc/1/mountinfo), which must outlive this.
  HostPaths(FileDescriptor root, LiveMountTable& mounts);

  // The host's name of the file (dev, ino) whose path inside its filesystem is
  // `fs_path`. `preferred`: a name the file had in the process's own view, used when
  // it is also one of the host's (a process in the host's mount namespace, no chroot),
  // so that a bind mount keeps the name it was run by. One thread.
  HostName name(std::uint32_t dev, std::uint64_t ino, std::string_view fs_path,
                std::string_view preferred = {});

  int root() const { return root_.get(); }
  LiveMountTable& mounts() { return mounts_; }

 private:
  FileDescriptor root_;
  LiveMountTable& mounts_;
};

}  // namespace execmond

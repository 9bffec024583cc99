// SPDX-License-Identifier: Apache-2.0
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "binaries/file_facts.h"
#include "binaries/host_paths.h"
#include "child_process.h"

namespace execmond {
namespace {

namespace fs = std::filesystem;

// A fresh directory under /tmp, removed with what is in it.
struct TempTree {
  TempTree() {
    char name[] = "/tmp/execmond-hostpaths-XXXXXX";
    path = ::mkdtemp(name);
  }
  ~TempTree() { fs::remove_all(path); }
  std::string file(const std::string& relative, const std::string& content = "x") const {
    const fs::path full = fs::path(path) / relative;
    fs::create_directories(full.parent_path());
    std::ofstream(full) << content;
    return full.string();
  }
  std::string path;
};

FileDescriptor open_path(const std::string& path) {
  return FileDescriptor(::open(path.c_str(), O_PATH | O_CLOEXEC));
}

// The file's path inside its own filesystem, found the way the kernel's record gives
// it: its mount's root joined with the path below the mount point.
std::string fs_path_of(const MountTable& table, const std::string& path, const FileFacts& facts) {
  const MountEntry* mount = table.by_id(static_cast<std::uint32_t>(facts.mount_id));
  if (!mount) return "";
  const auto rest = path_under(mount->mount_point, path);
  return rest ? join_mount_path(mount->root, *rest) : "";
}

// Sets up a user and mount namespace of this (child) process, as `unshare -Urm` does:
// allowed to any user where unprivileged user namespaces are (Debian's default).
std::string enter_own_namespaces() {
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return "unshare failed";
  std::ofstream("/proc/self/setgroups") << "deny";
  std::ofstream("/proc/self/uid_map") << "0 " << uid << " 1";
  std::ofstream("/proc/self/gid_map") << "0 " << gid << " 1";
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return "make-rprivate";
  return "";
}

bool facts_of_real_file(const std::string& path, const FileDescriptor& fd) {
  struct stat st {};
  const std::optional<FileFacts> facts = fd ? file_facts(fd.get()) : std::nullopt;
  return facts && ::stat(path.c_str(), &st) == 0 && facts->ino == st.st_ino;
}

}  // namespace

TEST_CASE("paths under a mount's root, and joined to its mount point", "[hostpaths]") {
  CHECK(path_under("/", "/a/b") == "/a/b");
  CHECK(path_under("/", "/") == "");
  CHECK(path_under("/srv", "/srv/x") == "/x");
  CHECK(path_under("/srv", "/srv") == "");
  CHECK_FALSE(path_under("/srv", "/srvx/y"));
  CHECK_FALSE(path_under("/srv", "/"));
  CHECK_FALSE(path_under("net:[4026532281]", "/x"));
  CHECK(join_mount_path("/", "/a") == "/a");
  CHECK(join_mount_path("/mnt", "/a") == "/mnt/a");
  CHECK(join_mount_path("/mnt", "") == "/mnt");
}

TEST_CASE("candidates: the filesystem's own mounts first, then binds of its directories",
          "[hostpaths]") {
  const MountTable table = MountTable::parse(
      "30 1 8:1 /srv/data /data rw - ext4 /dev/sda1 rw\n"
      "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
      "31 1 8:1 /srv/data/app /opt/app rw - ext4 /dev/sda1 rw\n"
      "40 1 0:50 / /run/user/1000 rw - tmpfs tmpfs rw\n");
  const auto candidates = host_path_candidates(table, kernel_dev(8, 1), "/srv/data/app/bin/x");
  REQUIRE(candidates.size() == 3);
  CHECK(candidates[0].path == "/srv/data/app/bin/x");
  CHECK(candidates[0].mount_id == 1);
  CHECK(candidates[1].path == "/data/app/bin/x");
  CHECK(candidates[2].path == "/opt/app/bin/x");
  CHECK(host_path_candidates(table, kernel_dev(8, 1), "/srv/database/x").size() == 1);
  CHECK(host_path_candidates(table, kernel_dev(0, 51), "/x").empty());
}

TEST_CASE("a file is named as the host sees it, checked by its inode", "[hostpaths]") {
  TempTree tree;
  const std::string path = tree.file("bin/tool");
  LiveMountTable mounts("/proc/self/mountinfo");
  HostPaths host(open_path("/"), mounts);
  const auto facts = file_facts(open_path(path).get());
  REQUIRE(facts);
  const std::string fs_path = fs_path_of(mounts.current(), path, *facts);
  REQUIRE_FALSE(fs_path.empty());

  const HostName named = host.name(facts->dev, facts->ino, fs_path);
  CHECK(named.status == HostName::Status::kVisible);
  CHECK(named.path == path);

  // Another inode at that name (the file was replaced): not this file's name.
  CHECK(host.name(facts->dev, facts->ino + 1, fs_path).status == HostName::Status::kUnverified);
  // Renamed since: its old name no longer leads to it.
  fs::rename(path, path + ".moved");
  CHECK(host.name(facts->dev, facts->ino, fs_path).status == HostName::Status::kUnverified);
  // A filesystem the host has no mount of.
  CHECK(host.name(kernel_dev(0, 0xfffff), facts->ino, fs_path).status ==
        HostName::Status::kNotVisible);
}

TEST_CASE("a symbolic link in the host's path is never followed to a name", "[hostpaths]") {
  TempTree tree;
  const std::string real = tree.file("real/tool");
  fs::create_directory_symlink(tree.path + "/real", tree.path + "/link");
  LiveMountTable mounts("/proc/self/mountinfo");
  HostPaths host(open_path("/"), mounts);
  const auto facts = file_facts(open_path(real).get());
  REQUIRE(facts);
  const std::string through_link = tree.path + "/link/tool";
  const std::string fs_path = fs_path_of(mounts.current(), real, *facts);
  // What the kernel gave is the dentry path, never the link; a preferred name through a
  // link is not the host's name of the file.
  const HostName named = host.name(facts->dev, facts->ino, fs_path, through_link);
  CHECK(named.status == HostName::Status::kVisible);
  CHECK(named.path == real);
}

TEST_CASE("the exact-path open without openat2 finds the same files and refuses the same",
          "[hostpaths]") {
  TempTree tree;
  const std::string real = tree.file("real/tool");
  fs::create_directory_symlink(tree.path + "/real", tree.path + "/link");
  fs::create_symlink(real, tree.path + "/real/alias");
  const FileDescriptor root = open_path("/");
  const auto facts = [](const FileDescriptor& fd) {
    const std::optional<FileFacts> f = fd ? file_facts(fd.get()) : std::nullopt;
    return f ? std::to_string(f->dev) + ":" + std::to_string(f->ino) + ":" +
                   std::to_string(f->mode & S_IFMT)
             : std::string("none");
  };
  // Same file, or both refused: a link in the middle, "..", a missing name. A final
  // link is opened as itself (O_NOFOLLOW), never followed.
  for (const std::string& path :
       {real, tree.path + "/link/tool", tree.path + "/real/alias", tree.path + "/real/../real/tool",
        tree.path + "/real/nope", tree.path + "/real", std::string("/proc/self/exe")}) {
    INFO(path);
    const std::string a = facts(open_exact_path(root.get(), path));
    const std::string b = facts(open_exact_path_by_components(root.get(), path));
    CHECK(a == b);
  }
  CHECK(facts_of_real_file(real, open_exact_path_by_components(root.get(), real)));
  CHECK(facts(open_exact_path_by_components(root.get(), tree.path + "/link/tool")) == "none");
}

TEST_CASE(
    "private mounts: the host does not see a user's tmpfs, and names a bind mount's "
    "file by where it really is",
    "[hostpaths][host-namespaces]") {
  TempTree tree;
  const std::string evil = tree.file("src/evil", "payload");
  const std::string allowed = tree.file("usr/bin/true", "allowed");
  const std::string result = testing::in_child([&]() -> std::string {
    // The host's view, opened before this child leaves it.
    LiveMountTable host_mounts("/proc/self/mountinfo");
    HostPaths host(open_path("/"), host_mounts);
    if (std::string error = enter_own_namespaces(); !error.empty()) return error;

    // `mount --bind evil usr/bin/true` in the child's namespace (row 3).
    if (::mount(evil.c_str(), allowed.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return "bind mount failed";
    LiveMountTable own("/proc/self/mountinfo");
    const auto bound = file_facts(open_path(allowed).get());
    if (!bound) return "stat failed";
    const std::string bound_fs_path = fs_path_of(own.current(), allowed, *bound);
    const HostName bound_name = host.name(bound->dev, bound->ino, bound_fs_path, allowed);

    // A private tmpfs (row 4): a superblock the host has no mount of.
    const std::string private_dir = tree.path + "/priv";
    fs::create_directory(private_dir);
    if (::mount("none", private_dir.c_str(), "tmpfs", 0, nullptr) != 0) return "tmpfs failed";
    std::ofstream(private_dir + "/tool") << "x";
    const auto hidden = file_facts(open_path(private_dir + "/tool").get());
    if (!hidden) return "stat failed";
    LiveMountTable own_again("/proc/self/mountinfo");
    const HostName hidden_name = host.name(
        hidden->dev, hidden->ino, fs_path_of(own_again.current(), private_dir + "/tool", *hidden));

    return "bound:" + bound_fs_path + ":" + std::to_string(int(bound_name.status)) + ":" +
           bound_name.path + " hidden:" + std::to_string(int(hidden_name.status));
  });
  CHECK(result == "bound:" + evil + ":0:" + evil + " hidden:1");
}

}  // namespace execmond

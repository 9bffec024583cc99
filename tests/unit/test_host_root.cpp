// SPDX-License-Identifier: Apache-2.0
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstddef>
#include <string>

#include "binaries/file_facts.h"
#include "binaries/host_root.h"
#include "temp_tree.h"

namespace execmond {
namespace {

// What systemd's RestrictSUIDSGID= does to openat2 (execmond's unit has it): ENOSYS.
void refuse_openat2() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0)
    ::_exit(100);
}

// Runs `check` in a child, with or without openat2; its exit status, 0 when it held.
template <typename Check>
int in_child(bool without_openat2, Check&& check) {
  const pid_t child = ::fork();
  if (child == 0) {
    if (without_openat2) refuse_openat2();
    ::_exit(check());
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

bool same_file(int fd, const std::string& path) {
  struct stat a {
  }, b{};
  return fd >= 0 && ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
         a.st_dev == b.st_dev;
}

}  // namespace

TEST_CASE("host files open inside the host's root, with or without openat2", "[content]") {
  TempTree tree;
  tree.file("usr/bin/tool", "tool");
  tree.symlink("usr/bin", "bin");
  tree.symlink("/usr/bin/tool", "usr/bin/absolute");
  tree.symlink("../../../../usr/bin/tool", "usr/bin/climbing");
  const std::string root_path = tree.root();
  const std::string tool = tree.path("usr/bin/tool");
  for (const bool without : {false, true}) {
    CAPTURE(without);
    const auto opened = [&](const char* path, int flags) {
      return in_child(without, [&] {
        const FileDescriptor root = open_root(root_path);
        const FileDescriptor fd(open_in_root(root.get(), path, flags));
        return same_file(fd.get(), tool) ? 0 : 1;
      });
    };
    CHECK(opened("/usr/bin/tool", O_RDONLY) == 0);
    CHECK(opened("/bin/tool", O_RDONLY) == 0);          // a relative symlink
    CHECK(opened("/usr/bin/absolute", O_RDONLY) == 0);  // an absolute one, in the root
    CHECK(opened("/usr/bin/climbing", O_RDONLY) == 0);  // `..` stops at the root
    CHECK(opened("/usr/bin/missing", O_RDONLY) == 1);
    // The exact lookup refuses symlinks, also without openat2.
    const auto exact = [&](const char* path) {
      return in_child(without, [&] {
        const FileDescriptor root = open_root(root_path);
        const FileDescriptor fd = open_exact_path(root.get(), path);
        return same_file(fd.get(), tool) ? 0 : (fd ? 2 : 1);
      });
    };
    CHECK(exact("/usr/bin/tool") == 0);
    CHECK(exact("/bin/tool") == 1);
    CHECK(exact("/usr/bin/absolute") == 2);     // the link itself (O_PATH | O_NOFOLLOW)
    CHECK(exact("/usr/../usr/bin/tool") == 1);  // "." and ".." are no part of an exact name
  }
}

}  // namespace execmond

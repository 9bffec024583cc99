#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "binaries/path_walker.h"
#include "child_process.h"

namespace execmond {
namespace {

namespace fs = std::filesystem;

// A chroot-like tree:
//   usr/bin/s.sh            the script an allow-list admits
//   a/b/c/d/                directories
//   a/usr/bin/s.sh          another file, where `..` really leads from a/b/c/d
//   tmp/x/L -> /a/b/c/d     an absolute link, meant inside this root
//   tmp/x/evil
//   usr/bin/abs -> /tmp/x/evil
//   loop1 -> loop2, loop2 -> loop1
//   l0 -> l1 -> … -> l40 -> usr/bin/s.sh (41 links), l1 … (40)
struct Tree {
  Tree() {
    char name[] = "/tmp/execmond-walker-XXXXXX";
    root = ::mkdtemp(name);
    file("usr/bin/s.sh");
    file("a/usr/bin/s.sh");
    file("tmp/x/evil");
    fs::create_directories(root + "/a/b/c/d");
    fs::create_symlink("/a/b/c/d", root + "/tmp/x/L");
    fs::create_symlink("/tmp/x/evil", root + "/usr/bin/abs");
    fs::create_symlink("loop2", root + "/loop1");
    fs::create_symlink("loop1", root + "/loop2");
    for (int i = 0; i < 41; ++i)
      fs::create_symlink(i == 40 ? "usr/bin/s.sh" : "l" + std::to_string(i + 1),
                         root + "/l" + std::to_string(i));
  }
  ~Tree() { fs::remove_all(root); }
  void file(const std::string& relative) {
    fs::create_directories(fs::path(root + "/" + relative).parent_path());
    std::ofstream(root + "/" + relative) << relative;
  }
  std::string root;
};

FileDescriptor open_dir(const std::string& path) {
  return FileDescriptor(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
}

std::string describe(const WalkResult& result) {
  if (const int* error = std::get_if<int>(&result)) return "E" + std::to_string(*error);
  const WalkedPath& walked = std::get<WalkedPath>(result);
  return std::to_string(walked.facts.dev) + ":" + std::to_string(walked.facts.ino);
}

// What the kernel itself makes of each path for a process chrooted to `root` with its
// working directory at `cwd`: the oracle.
std::vector<std::string> kernel_resolves(const std::string& root, const std::string& cwd,
                                         const std::vector<std::string>& paths) {
  const std::string out = testing::in_child([&]() -> std::string {
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return "unshare";
    std::ofstream("/proc/self/setgroups") << "deny";
    std::ofstream("/proc/self/uid_map") << "0 " << uid << " 1";
    std::ofstream("/proc/self/gid_map") << "0 " << gid << " 1";
    if (::chroot(root.c_str()) != 0 || ::chdir(cwd.c_str()) != 0) return "chroot";
    std::string lines;
    for (const std::string& path : paths) {
      const int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
      if (fd < 0) {
        lines += "E" + std::to_string(errno) + "\n";
        continue;
      }
      const auto facts = file_facts(fd);
      ::close(fd);
      lines += std::to_string(facts->dev) + ":" + std::to_string(facts->ino) + "\n";
    }
    return lines;
  });
  std::vector<std::string> results;
  std::istringstream read(out);
  for (std::string line; std::getline(read, line);) results.push_back(line);
  return results;
}

std::string long_path(std::size_t size, const std::string& tail) {
  std::string path = "/";
  while (path.size() + tail.size() < size)
    path += path.size() + tail.size() + 2 <= size ? "./" : "/";
  return path + tail;
}

}  // namespace

TEST_CASE("the walker resolves every path exactly as the kernel does under that root", "[walker]") {
  Tree tree;
  const FileDescriptor root = open_dir(tree.root);
  const FileDescriptor cwd = open_dir(tree.root + "/tmp/x");
  const std::vector<std::string> paths = {
      "/usr/bin/s.sh",
      "/tmp/x/L/../../../usr/bin/s.sh",  // `..` after a link: physical, not lexical
      "L/../../../usr/bin/s.sh",
      "./L/../../../../../../../usr/bin/s.sh",
      "/usr/bin/abs",  // an absolute link means this root
      "/../../../usr/bin/s.sh",
      "../../../../../usr/bin/s.sh",
      "evil",
      "/loop1",
      "/l0",  // 41 links: ELOOP
      "/l1",  // 40 links: the limit, resolved
      "/usr/bin/s.sh/",
      "/usr/bin/s.sh/x",
      "/usr/bin/nope",
      "/" + std::string(256, 'n'),
      long_path(4095, "usr/bin/s.sh"),
      long_path(4096, "usr/bin/s.sh"),
      long_path(1100, "usr/bin/../../tmp/x/evil"),
      "",
  };
  const std::vector<std::string> kernel = kernel_resolves(tree.root, "/tmp/x", paths);
  REQUIRE(kernel.size() == paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) {
    INFO(paths[i].substr(0, 80) << " (" << paths[i].size() << " bytes)");
    CHECK(describe(walk_path(root.get(), cwd.get(), "/tmp/x", paths[i])) == kernel[i]);
  }
  // Spot checks of what the oracle said, so that a broken oracle cannot pass.
  CHECK(kernel[9] == "E" + std::to_string(ELOOP));
  CHECK(kernel[16] == "E" + std::to_string(ENAMETOOLONG));
  CHECK(kernel[0] != kernel[1]);
  CHECK(kernel[15] == kernel[0]);
  CHECK(paths[15].size() == 4095);
  CHECK(paths[16].size() == 4096);
  CHECK(kernel[17] == kernel[7]);
}

TEST_CASE("the walker names what it found from the root, links and `..` applied", "[walker]") {
  Tree tree;
  const FileDescriptor root = open_dir(tree.root);
  const FileDescriptor cwd = open_dir(tree.root + "/tmp/x");
  const auto name = [&](const std::string& path) {
    WalkResult result = walk_path(root.get(), cwd.get(), "/tmp/x", path);
    return std::holds_alternative<WalkedPath>(result) ? std::get<WalkedPath>(result).path
                                                      : "E" + std::to_string(std::get<int>(result));
  };
  CHECK(name("L/../../../usr/bin/s.sh") == "/a/usr/bin/s.sh");
  CHECK(name("/usr/bin/abs") == "/tmp/x/evil");
  CHECK(name("../../../..//usr/./bin/s.sh") == "/usr/bin/s.sh");
  CHECK(name("/l1") == "/usr/bin/s.sh");
  CHECK(name(".") == "/tmp/x");
  CHECK(name("/") == "/");
}

TEST_CASE("the walker refuses magic links and walks above a root it never entered", "[walker]") {
  Tree tree;
  const FileDescriptor host_root = open_dir("/");
  const FileDescriptor tree_root = open_dir(tree.root);
  // /proc/self is the reader's, not the process's: never followed.
  CHECK(std::get<int>(walk_path(host_root.get(), host_root.get(), "/", "/proc/self/exe")) == EXDEV);
  CHECK(std::get<int>(walk_path(host_root.get(), host_root.get(), "/", "/dev/fd/0")) == EXDEV);
  // A working directory outside the root (chroot without chdir): `..` from it would
  // reach what the root hides.
  const FileDescriptor outside = open_dir("/tmp");
  CHECK(std::get<int>(walk_path(tree_root.get(), outside.get(), "/", "../etc/passwd")) == EXDEV);
}

}  // namespace execmond

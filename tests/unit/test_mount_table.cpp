#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "binaries/live_mount_table.h"
#include "binaries/mount_table.h"
#include "child_process.h"

namespace execmond {

TEST_CASE("a mountinfo line gives ids, device, root, mount point and filesystem", "[mounts]") {
  const auto entry = parse_mountinfo_line(
      "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue");
  REQUIRE(entry);
  CHECK(entry->mount_id == 36);
  CHECK(entry->parent_id == 35);
  CHECK(entry->dev == kernel_dev(98, 0));
  CHECK(entry->root == "/mnt1");
  CHECK(entry->mount_point == "/mnt/parent");
  CHECK(entry->fs_type == "ext3");
  CHECK(entry->source == "/dev/root");
}

TEST_CASE("mountinfo escapes, optional fields, empty sources and nsfs roots", "[mounts]") {
  const auto spaced = parse_mountinfo_line(
      R"(100 1 0:52 /a\040b\134c /mnt/x\011y\012z rw shared:5 master:3 propagate_from:2 - tmpfs  rw)");
  REQUIRE(spaced);
  CHECK(spaced->root == "/a b\\c");
  CHECK(spaced->mount_point == "/mnt/x\ty\nz");
  CHECK(spaced->fs_type == "tmpfs");
  CHECK(spaced->source.empty());
  const auto nsfs =
      parse_mountinfo_line("512 28 0:4 net:[4026532281] /run/netns/a rw - nsfs nsfs rw");
  REQUIRE(nsfs);
  CHECK(nsfs->root == "net:[4026532281]");
  CHECK(unescape_mountinfo(R"(\040\9\12x\)") == R"( \9\12x\)");  // only 3 octal digits escape
  CHECK(unescape_mountinfo(R"(\777)") == R"(\777)");             // > 0xff: not an escape
  CHECK(kernel_dev(259, 1) == ((259u << 20) | 1));
  CHECK(kernel_major(kernel_dev(259, 1)) == 259);
  CHECK(kernel_minor(kernel_dev(259, 1)) == 1);
}

TEST_CASE("lines that cannot come from the kernel are skipped and counted", "[mounts]") {
  const MountTable table = MountTable::parse(
      "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
      "garbage\n"
      "2 1 8:1 / /x rw shared:1 ext4 /dev/sda1 rw\n"  // no "-"
      "3 1 4096:1 / /y rw - ext4 /dev/sda1 rw\n"      // major > 12 bits
      "4 1 8:1 / relative rw - ext4 /dev/sda1 rw\n"   // mount point not absolute
      "5 1 8:2 / /z rw - ext4 /dev/sda2\n"            // no super options
      "\n"
      "6 1 8:1 /srv /data rw - ext4 /dev/sda1 rw\n");
  CHECK(table.entries().size() == 2);
  CHECK(table.malformed_lines() == 5);
  CHECK_FALSE(table.truncated());
  const auto sda1 = table.mounts_of(kernel_dev(8, 1));
  REQUIRE(sda1.size() == 2);
  CHECK(sda1[0]->mount_id == 1);
  CHECK(sda1[1]->mount_id == 6);
  CHECK(table.by_id(6)->root == "/srv");
  CHECK(table.by_id(5) == nullptr);
  CHECK(table.mounts_of(kernel_dev(8, 2)).empty());
}

TEST_CASE("this process's own mount table parses whole", "[mounts]") {
  std::ifstream file("/proc/self/mountinfo");
  std::stringstream text;
  text << file.rdbuf();
  const MountTable table = MountTable::parse(text.str());
  CHECK(table.malformed_lines() == 0);
  REQUIRE_FALSE(table.entries().empty());
  struct stat root {};
  REQUIRE(::stat("/", &root) == 0);
  bool root_found = false;
  for (const MountEntry& entry : table.entries())
    root_found |=
        entry.mount_point == "/" && entry.dev == kernel_dev(major(root.st_dev), minor(root.st_dev));
  CHECK(root_found);
}

TEST_CASE("a live table is read once, and again only after a change", "[mounts]") {
  LiveMountTable live("/proc/self/mountinfo");
  CHECK(live.reads() == 1);
  const std::size_t mounts = live.current().entries().size();
  live.current();
  CHECK(live.reads() == 1);
  CHECK(live.current().entries().size() == mounts);
  CHECK_THROWS(LiveMountTable("/nonexistent/mountinfo"));
}

TEST_CASE("a live table is read again after a mount, found by poll()", "[mounts]") {
  const std::string result = testing::in_child([]() -> std::string {
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return "unshare";
    std::ofstream("/proc/self/setgroups") << "deny";
    std::ofstream("/proc/self/uid_map") << "0 " << uid << " 1";
    std::ofstream("/proc/self/gid_map") << "0 " << gid << " 1";
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return "private";
    LiveMountTable live("/proc/self/mountinfo");
    live.current();
    const std::uint64_t before = live.reads();
    char dir[] = "/tmp/execmond-live-XXXXXX";
    if (!::mkdtemp(dir)) return "mkdtemp";
    if (::mount("none", dir, "tmpfs", 0, nullptr) != 0) return "mount";
    bool found = false;
    for (const MountEntry& entry : live.current().entries()) found |= entry.mount_point == dir;
    const std::uint64_t after = live.reads();
    ::umount(dir);
    ::rmdir(dir);
    return std::to_string(after - before) + (found ? " found" : " missing");
  });
  CHECK(result == "1 found");
}

TEST_CASE("a mountinfo file larger than the bound is cut, never read without end", "[mounts]") {
  char path[] = "/tmp/execmond-mountinfo-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string line = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n";
  for (int i = 0; i < 100; ++i)
    REQUIRE(::write(fd, line.data(), line.size()) == ssize_t(line.size()));
  std::string text;
  CHECK(read_mountinfo(fd, text, 100 * line.size()));
  CHECK(text.size() == 100 * line.size());
  CHECK_FALSE(read_mountinfo(fd, text, 10 * line.size()));
  CHECK(text.size() <= 10 * line.size() + 64 * 1024);
  ::close(fd);
  ::unlink(path);
}

}  // namespace execmond

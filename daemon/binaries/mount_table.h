// A mount table as /proc/PID/mountinfo prints it (proc(5)): which filesystem, and which
// directory of it, is mounted where. The host's table (PID 1's) names a file the kernel
// identified by its superblock and its path inside that filesystem; a process's own
// table maps the paths it sees back to their filesystems.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace execmond {

struct MountEntry {
  std::uint32_t mount_id = 0;
  std::uint32_t parent_id = 0;
  // The superblock's device in the kernel's encoding (major << 20 | minor), as
  // inode->i_sb->s_dev holds it and the binary records carry it.
  std::uint32_t dev = 0;
  std::string root;         // the directory of the filesystem mounted here ("/" or a bind's)
  std::string mount_point;  // where, relative to the reading process's root
  std::string fs_type;      // "ext4", "overlay", "tmpfs", …
  std::string source;       // "/dev/sda1", "overlay", "none", …
};

class MountTable {
 public:
  // Bounds: a mount namespace holds at most fs.mount-max (100,000) mounts; a table with
  // more lines than this is cut, and says so.
  static constexpr std::size_t kMaxEntries = 100'000;

  MountTable() = default;
  // Parses mountinfo text. A line that is not one (it cannot come from the kernel) is
  // skipped and counted, never fatal.
  static MountTable parse(std::string_view text);

  const std::vector<MountEntry>& entries() const { return entries_; }
  std::size_t malformed_lines() const { return malformed_lines_; }
  bool truncated() const { return truncated_; }

  // Mounts of the filesystem with this device, in table order (later ones were mounted
  // later, so they cover earlier ones at the same point).
  std::vector<const MountEntry*> mounts_of(std::uint32_t dev) const;
  const MountEntry* by_id(std::uint32_t mount_id) const;

 private:
  std::vector<MountEntry> entries_;
  std::unordered_multimap<std::uint32_t, std::size_t> by_dev_;
  std::unordered_map<std::uint32_t, std::size_t> by_id_;
  std::size_t malformed_lines_ = 0;
  bool truncated_ = false;
};

// One line of mountinfo, or nullopt when it is not one.
std::optional<MountEntry> parse_mountinfo_line(std::string_view line);

// mountinfo's escapes (`\040` for a space, `\011`, `\012`, `\134`) undone.
std::string unescape_mountinfo(std::string_view field);

// The kernel's dev_t encoding (include/linux/kdev_t.h MKDEV): 12 bits of major above 20
// of minor, not glibc's.
constexpr std::uint32_t kernel_dev(std::uint32_t major, std::uint32_t minor) {
  return (major << 20) | (minor & 0xfffff);
}
constexpr std::uint32_t kernel_major(std::uint32_t dev) { return dev >> 20; }
constexpr std::uint32_t kernel_minor(std::uint32_t dev) { return dev & 0xfffff; }

}  // namespace execmond

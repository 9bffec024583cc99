#include "binaries/process_view.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "binaries/file_facts.h"
#include "binaries/host_paths.h"
#include "binaries/live_mount_table.h"
#include "binaries/path_walker.h"

namespace execmond {
namespace {

bool same_directory(const FileFacts& a, const FileFacts& b) {
  return a.dev == b.dev && a.ino == b.ino && a.mount_id == b.mount_id;
}

}  // namespace

std::optional<std::uint64_t> process_start_boottime_ns(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return std::nullopt;
  // The name is in parentheses and may hold anything: the fields start after the last ')'.
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  // Field 22 is starttime; fields 3 onwards follow the name.
  for (int i = 3; i < 22; ++i)
    if (!(fields >> field)) return std::nullopt;
  unsigned long long ticks = 0;
  if (!(fields >> ticks)) return std::nullopt;
  const long hertz = ::sysconf(_SC_CLK_TCK);
  if (hertz <= 0) return std::nullopt;
  return static_cast<std::uint64_t>(ticks) * (1'000'000'000ull / static_cast<std::uint64_t>(hertz));
}

namespace {

// The records' pids are the initial pid namespace's: /proc names the same processes only
// when this process's /proc is that namespace's (the host's, or hostPID). Elsewhere (a
// container without the host's pids) a pid would name another process, so none is used.
bool proc_shows_initial_pids() {
  static const bool initial = [] {
    // include/linux/proc_ns.h PROC_PID_INIT_INO, fixed since 3.8.
    constexpr std::uint64_t kInitialPidNamespaceInode = 0xEFFFFFFC;
    struct stat st {};
    return ::stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == kInitialPidNamespaceInode;
  }();
  return initial;
}

}  // namespace

bool ProcessView::available() { return proc_shows_initial_pids(); }

std::optional<ProcessView> ProcessView::open(int pid, std::uint64_t exec_boottime_ns) {
  if (!proc_shows_initial_pids()) return std::nullopt;
  const long hertz = ::sysconf(_SC_CLK_TCK);
  const std::uint64_t tick = hertz > 0 ? 1'000'000'000ull / static_cast<std::uint64_t>(hertz) : 0;
  const auto same_process = [&] {
    const std::optional<std::uint64_t> started = process_start_boottime_ns(pid);
    return started && *started <= exec_boottime_ns + tick;
  };
  if (!same_process()) return std::nullopt;
  const std::string proc = "/proc/" + std::to_string(pid);
  ProcessView view;
  view.pid_ = pid;
  view.root_ = FileDescriptor(::open((proc + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  view.cwd_ = FileDescriptor(::open((proc + "/cwd").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!view.root_ || !view.cwd_) return std::nullopt;
  struct stat ns {};
  if (::stat((proc + "/ns/mnt").c_str(), &ns) != 0) return std::nullopt;
  view.mntns_ = static_cast<std::uint32_t>(ns.st_ino);
  // Both names are given from the mount namespace's root: the cwd's name from the
  // process's root is what follows the root's own name.
  const std::optional<std::string> root_name = read_link(AT_FDCWD, (proc + "/root").c_str());
  const std::optional<std::string> cwd_name = read_link(AT_FDCWD, (proc + "/cwd").c_str());
  if (!root_name || !cwd_name) return std::nullopt;
  view.chrooted_ = *root_name != "/";
  // Opened, then checked: a pid reused in between is found here.
  if (!same_process()) return std::nullopt;
  view.root_name_ = *root_name;
  view.cwd_path_ = view.name_below_root("cwd", view.cwd_.get());
  return view;
}

std::optional<std::string> ProcessView::name_below_root(const std::string& link, int file) const {
  // The link's text names the file from the mount namespace's root; below the root's
  // own name is its name from the process's root, which must lead back to it.
  const std::optional<std::string> text =
      read_link(AT_FDCWD, ("/proc/" + std::to_string(pid_) + "/" + link).c_str());
  if (!text) return std::nullopt;
  const std::optional<std::string_view> below = path_under(root_name_, *text);
  if (!below) return std::nullopt;
  const std::string name = below->empty() ? "/" : std::string(*below);
  WalkResult walked = walk_path(root_.get(), root_.get(), "/", name);
  const std::optional<FileFacts> facts = file_facts(file);
  const auto* found = std::get_if<WalkedPath>(&walked);
  if (!found || !facts || !same_directory(found->facts, *facts)) return std::nullopt;
  return name;
}

std::optional<ProcessView::Descriptor> ProcessView::descriptor(int n) const {
  const std::string link = "fd/" + std::to_string(n);
  Descriptor descriptor;
  descriptor.file = FileDescriptor(
      ::open(("/proc/" + std::to_string(pid_) + "/" + link).c_str(), O_PATH | O_CLOEXEC));
  if (!descriptor.file) return std::nullopt;
  descriptor.name = name_below_root(link, descriptor.file.get());
  return descriptor;
}

MountTable ProcessView::mounts() const {
  const FileDescriptor fd(
      ::open(("/proc/" + std::to_string(pid_) + "/mountinfo").c_str(), O_RDONLY | O_CLOEXEC));
  std::string text;
  if (fd) read_mountinfo(fd.get(), text, LiveMountTable::kMaxBytes);
  return MountTable::parse(text);
}

std::string ProcessView::command_line(std::size_t max_bytes, bool& truncated) const {
  std::ifstream file("/proc/" + std::to_string(pid_) + "/cmdline", std::ios::binary);
  std::string bytes(max_bytes + 1, '\0');
  file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(file.gcount()));
  truncated = bytes.size() > max_bytes;
  if (truncated) bytes.resize(max_bytes);
  return bytes;
}

}  // namespace execmond

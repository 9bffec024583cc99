#include "binaries/judging_view.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "binaries/file_facts.h"
#include "service/file_descriptor.h"

namespace execmond {
namespace {

// How deep user namespaces nest at most (kernel/user_namespace.c: 32).
constexpr int kMaxUserNamespaceDepth = 33;

// include/linux/proc_ns.h: the initial user namespace's inode number, fixed since 3.8.
// Compared with it, rather than with /proc/1/ns/user, which a sandbox may hide even from
// root (it does on the development VM).
constexpr std::uint64_t kInitialUserNamespaceInode = 0xEFFFFFFD;

bool is_initial_user_namespace(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && st.st_ino == kInitialUserNamespaceInode;
}

std::uint32_t namespace_inode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint32_t>(st.st_ino) : 0;
}

bool read_ids(int pid, ExecContext& context) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  bool uid = false, gid = false;
  while (std::getline(status, line)) {
    unsigned real = 0, effective = 0;
    if (std::sscanf(line.c_str(), "Uid: %u %u", &real, &effective) == 2) {
      context.euid = effective;
      uid = true;
    } else if (std::sscanf(line.c_str(), "Gid: %u %u", &real, &effective) == 2) {
      context.egid = effective;
      gid = true;
    }
  }
  return uid && gid;
}

// Walks the user namespace chain from the process's up to the initial one.
bool read_user_namespaces(int pid, ExecContext& context) {
  FileDescriptor current(
      ::open(("/proc/" + std::to_string(pid) + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
  if (!current) return false;
  for (int depth = 0; depth < kMaxUserNamespaceDepth; ++depth) {
    if (is_initial_user_namespace(current.get())) return true;
    uid_t owner = 0;
    if (::ioctl(current.get(), NS_GET_OWNER_UID, &owner) != 0) return false;
    if (depth == 0) context.userns_owner = owner;
    if (owner != 0) context.userns_unprivileged = true;
    context.userns = true;
    ++context.userns_level;
    FileDescriptor parent(::ioctl(current.get(), NS_GET_PARENT));
    if (!parent) return false;
    current = std::move(parent);
  }
  return false;
}

}  // namespace

JudgingView judging_view(const ExecContext& context) {
  if (context.userns_unprivileged) return JudgingView::kHost;
  if (context.mntns_not_hosts) return JudgingView::kProcess;
  return JudgingView::kHost;
}

std::string_view view_name(JudgingView view) {
  return view == JudgingView::kHost ? "host" : "process";
}

std::uint32_t host_mount_namespace() {
  // PID 1's; where a sandbox hides it (EACCES even for root), this process's own, which
  // is the host's wherever execmond is not itself sandboxed.
  if (const std::uint32_t host = namespace_inode("/proc/1/ns/mnt")) return host;
  return namespace_inode("/proc/self/ns/mnt");
}

std::optional<ExecContext> read_exec_context(int pid, std::uint32_t host_mntns) {
  ExecContext context;
  const std::string proc = "/proc/" + std::to_string(pid);
  if (!read_ids(pid, context) || !read_user_namespaces(pid, context)) return std::nullopt;
  context.mntns = namespace_inode(proc + "/ns/mnt");
  if (context.mntns == 0) return std::nullopt;
  context.mntns_not_hosts = context.mntns != host_mntns;
  // /proc/PID/root names the root from its mount namespace's root: "/" unless chrooted.
  const std::optional<std::string> root = read_link(AT_FDCWD, (proc + "/root").c_str());
  if (!root) return std::nullopt;
  context.chroot = *root != "/";
  return context;
}

}  // namespace execmond

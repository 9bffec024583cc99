// In which view an exec is judged: the pure rule of DESIGN-identity.md, and the facts it
// reads. The kernel sends the facts with every binary record; read_exec_context() reads
// the same facts from /proc for a live process (tests, and log lines of cached verdicts).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace execmond {

// Where and as whom a process ran.
struct ExecContext {
  std::uint32_t euid = 0;
  std::uint32_t egid = 0;
  std::uint32_t userns_level = 0;    // 0: the initial user namespace
  std::uint32_t userns_owner = 0;    // the uid that created the innermost one (0 at level 0)
  std::uint32_t mntns = 0;           // the mount namespace's inode number
  bool userns = false;               // not the initial user namespace
  bool userns_unprivileged = false;  // one up its chain was created by a uid other than 0
  bool mntns_not_hosts = false;      // not the host's mount namespace
  bool chroot = false;               // its root is not its mount namespace's root
};

enum class JudgingView {
  kHost,     // the file's host path: the host's mount namespace (a chroot too), and any
             // namespace an unprivileged user made (unshare -Ur, rootless containers)
  kProcess,  // the path inside the process's own mount namespace: rootful containers,
             // whose runtime runs as root in the initial user namespace
};

// The rule. A namespace an unprivileged user created is never trusted to name its files,
// whatever else is true of it; a mount namespace root made is a container whose paths
// are its image's; the rest is the host's, and a chroot is a view the process chose.
JudgingView judging_view(const ExecContext& context);
std::string_view view_name(JudgingView view);  // "host", "process"

// The facts of process `pid` now, from /proc (ns/user's chain through the NS_GET_PARENT
// and NS_GET_OWNER_UID ioctls, ns/mnt against `host_mntns`, root against "/"); nullopt
// when it is gone or cannot be read (another user's process without CAP_SYS_PTRACE).
std::optional<ExecContext> read_exec_context(int pid, std::uint32_t host_mntns);

// The inode of /proc/1/ns/mnt: the host's mount namespace (this process's own if PID 1's
// is hidden); 0 if unreadable.
std::uint32_t host_mount_namespace();

}  // namespace execmond

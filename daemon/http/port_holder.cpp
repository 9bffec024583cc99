// SPDX-License-Identifier: Apache-2.0
#include "http/port_holder.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <string>

namespace execmond::http {
namespace {

// Bounds on the search: an error message must not cost a busy host seconds.
constexpr std::size_t kMaxSocketLines = 200000;
constexpr std::size_t kMaxProcesses = 100000;
constexpr std::size_t kMaxDescriptors = 1000000;
constexpr unsigned kListenState = 0x0A;  // TCP_LISTEN in /proc/net/tcp's "st"

// Inodes of the sockets listening on `port` in /proc/net/tcp or tcp6.
void listening_inodes(const char* table, std::uint16_t port, std::set<unsigned long>& inodes) {
  std::ifstream file(table);
  std::string line;
  std::getline(file, line);  // the column names
  for (std::size_t lines = 0; lines < kMaxSocketLines && std::getline(file, line); ++lines) {
    // "  0: 0100007F:2601 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 12345 ..."
    char local[64];
    unsigned local_port = 0;
    unsigned state = 0;
    unsigned long inode = 0;
    if (std::sscanf(line.c_str(), " %*u: %63[0-9A-Fa-f]:%x %*64s %x %*s %*s %*s %*u %*u %lu", local,
                    &local_port, &state, &inode) != 4) {
      continue;
    }
    if (local_port == port && state == kListenState && inode != 0) inodes.insert(inode);
  }
}

std::string comm_of(const std::string& pid) {
  std::ifstream file("/proc/" + pid + "/comm");
  std::string comm;
  std::getline(file, comm);
  return comm.empty() ? "a process" : comm;
}

struct CloseDir {
  void operator()(DIR* dir) const { closedir(dir); }
};

}  // namespace

std::string describe_port_holders(std::uint16_t port) {
  std::set<unsigned long> inodes;
  listening_inodes("/proc/net/tcp", port, inodes);
  listening_inodes("/proc/net/tcp6", port, inodes);
  if (inodes.empty()) return "";
  const std::string self = std::to_string(getpid());
  std::set<std::string> holders;
  std::size_t descriptors = 0;
  const std::unique_ptr<DIR, CloseDir> proc(opendir("/proc"));
  std::size_t processes = 0;
  for (dirent* entry; proc && processes < kMaxProcesses && (entry = readdir(proc.get()));) {
    const std::string pid = entry->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    ++processes;
    const std::string fd_dir = "/proc/" + pid + "/fd";
    const std::unique_ptr<DIR, CloseDir> fds(opendir(fd_dir.c_str()));
    for (dirent* fd; fds && descriptors < kMaxDescriptors && (fd = readdir(fds.get()));) {
      ++descriptors;
      char target[64];
      const std::string link = fd_dir + "/" + fd->d_name;
      const ssize_t length = readlink(link.c_str(), target, sizeof target - 1);
      if (length <= 0) continue;
      target[length] = '\0';
      unsigned long inode = 0;
      if (std::sscanf(target, "socket:[%lu]", &inode) != 1 || inodes.count(inode) == 0) continue;
      holders.insert(pid == self ? "this execmond (pid " + pid + ")"
                                 : comm_of(pid) + " (pid " + pid + ")");
      break;
    }
  }
  if (holders.empty()) {
    return "a process execmond cannot see (another user's or another PID namespace's, or "
           "/proc is restricted)";
  }
  std::string text;
  for (const std::string& holder : holders) {
    if (!text.empty()) text += ", ";
    text += holder;
  }
  return text;
}

}  // namespace execmond::http

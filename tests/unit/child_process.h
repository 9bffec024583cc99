// Runs a function in a forked child (which may unshare namespaces, chroot or mount
// without touching the test process) and returns what it wrote: the child's result
// travels through a pipe, since its assertions cannot reach Catch2.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

namespace execmond::testing {

inline std::string in_child(const std::function<std::string()>& body) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return "error: pipe";
  const pid_t pid = ::fork();
  if (pid < 0) return "error: fork";
  if (pid == 0) {
    ::close(pipe_fds[0]);
    std::string result;
    try {
      result = body();
    } catch (const std::exception& e) {
      result = std::string("error: ") + e.what();
    }
    const char* at = result.data();
    for (std::size_t left = result.size(); left > 0;) {
      const ssize_t wrote = ::write(pipe_fds[1], at, left);
      if (wrote <= 0) break;
      at += wrote;
      left -= static_cast<std::size_t>(wrote);
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string result;
  char buffer[4096];
  for (ssize_t got; (got = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0;)
    result.append(buffer, static_cast<std::size_t>(got));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return result;
}

}  // namespace execmond::testing

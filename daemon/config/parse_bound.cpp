// SPDX-License-Identifier: Apache-2.0
#include "config/parse_bound.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>

#include "config/config_error.h"
#include "config/parse_probe.h"
#include "events/signal_names.h"
#include "service/file_descriptor.h"

extern char** environ;

namespace execmond {
namespace {

using std::chrono::milliseconds;

// Sanitizers make code ~2-5 times slower; their builds get the same bound on the parser's
// work, not on its speed.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kSlowdown = 4;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr int kSlowdown = 4;
#else
constexpr int kSlowdown = 1;
#endif
#else
constexpr int kSlowdown = 1;
#endif

// What a person can do about it: the files yaml-cpp has run away on were malformed.
constexpr char kHint[] =
    "look for unbalanced brackets or quotes and bytes that are not UTF-8: yaml-cpp misbehaves "
    "on some malformed YAML";

// posix_spawn's two argument blocks, destroyed with their functions.
class SpawnActions {
 public:
  SpawnActions() { posix_spawn_file_actions_init(&actions_); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions_); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

class SpawnAttributes {
 public:
  SpawnAttributes() { posix_spawnattr_init(&attributes_); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attributes_); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  posix_spawnattr_t* get() { return &attributes_; }

 private:
  posix_spawnattr_t attributes_;
};

// `fd`, moved above 0, 1 and 2 if a parent started the daemon with one of them closed: the
// child's standard streams are made from these descriptors, and one must not overwrite
// another on the way.
FileDescriptor above_standard_streams(FileDescriptor fd) {
  if (!fd || fd.get() > STDERR_FILENO) return fd;
  FileDescriptor moved(fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1));
  if (!moved) throw std::system_error(errno, std::generic_category(), "fcntl");
  return moved;
}

// The text in an anonymous file the child reads as its standard input: no pipe to keep
// fed, no file system needed (the container image has none to write to).
FileDescriptor text_in_memory(std::string_view text) {
  FileDescriptor file =
      above_standard_streams(FileDescriptor(memfd_create("execmond-yaml", MFD_CLOEXEC)));
  if (!file) throw std::system_error(errno, std::generic_category(), "memfd_create");
  for (std::size_t written = 0; written < text.size();) {
    const ssize_t count = write(file.get(), text.data() + written, text.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) throw std::system_error(errno, std::generic_category(), "write");
    written += static_cast<std::size_t>(count);
  }
  if (lseek(file.get(), 0, SEEK_SET) != 0)
    throw std::system_error(errno, std::generic_category(), "lseek");
  return file;
}

// The parse's child process, killed and reaped however the wait for it ends. Its standard
// output is a pipe the daemon polls: the pipe ends when the child does, however it dies.
class Child {
 public:
  Child(pid_t pid, FileDescriptor exited) : pid_(pid), exited_(std::move(exited)) {}
  ~Child() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Waits until the child is gone or `wall` has passed, kills it in that case, and reaps
  // it. Returns whether the deadline killed it.
  bool wait_or_kill(milliseconds wall, int& status, rusage& usage) {
    const auto deadline = std::chrono::steady_clock::now() + wall;
    bool killed = false;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        kill(pid_, SIGKILL);
        killed = true;
        break;
      }
      pollfd gone{exited_.get(), POLLIN, 0};
      const int ready = poll(&gone, 1, static_cast<int>(left.count()) + 1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) throw std::system_error(errno, std::generic_category(), "poll");
      if (ready == 0) continue;
      char byte;
      const ssize_t count = read(exited_.get(), &byte, 1);
      if (count == 0 || (count < 0 && errno != EINTR && errno != EAGAIN)) break;  // the end
    }
    while (wait4(pid_, &status, 0, &usage) < 0) {
      if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "wait4");
    }
    pid_ = 0;  // reaped
    return killed;
  }

 private:
  pid_t pid_;
  FileDescriptor exited_;
};

// Closes, in the child, every descriptor above stderr. glibc 2.34 has an action for it;
// the portable build's glibc (2.31) has not: there the descriptors without FD_CLOEXEC,
// as /proc/self/fd lists them now, get a close action each (the others close at exec).
// One opened meanwhile by another thread without FD_CLOEXEC would reach the child, which
// only reads its stdin and exits; one closed meanwhile makes its action a no-op (glibc
// ignores EBADF there).
int close_above_stderr(posix_spawn_file_actions_t* actions) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  return posix_spawn_file_actions_addclosefrom_np(actions, STDERR_FILENO + 1);
#else
  DIR* directory = ::opendir("/proc/self/fd");
  if (directory == nullptr) return errno;
  const int own = ::dirfd(directory);
  int error = 0;
  while (const dirent* entry = ::readdir(directory)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd <= STDERR_FILENO || fd == own) continue;
    const int flags = ::fcntl(static_cast<int>(fd), F_GETFD);
    if (flags < 0 || (flags & FD_CLOEXEC)) continue;
    if ((error = posix_spawn_file_actions_addclose(actions, static_cast<int>(fd))) != 0) break;
  }
  ::closedir(directory);
  return error;
#endif
}

std::unique_ptr<Child> spawn_probe(const std::string& executable, const FileDescriptor& input,
                                   const ParseBudget& budget) {
  int ends[2];
  if (pipe2(ends, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  FileDescriptor read_end(ends[0]);
  const FileDescriptor write_end = above_standard_streams(FileDescriptor(ends[1]));

  SpawnActions actions;
  SpawnAttributes attributes;
  // Only stdin (the text), stdout (the pipe) and stderr (the daemon's log, where a
  // sanitizer would report) reach the child; its signals start blocked by none and
  // handled by default, whatever the daemon blocks (SIGHUP, SIGTERM go to a signalfd).
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  if (posix_spawn_file_actions_adddup2(actions.get(), input.get(), STDIN_FILENO) != 0 ||
      posix_spawn_file_actions_adddup2(actions.get(), write_end.get(), STDOUT_FILENO) != 0 ||
      close_above_stderr(actions.get()) != 0 ||
      posix_spawnattr_setsigmask(attributes.get(), &none) != 0 ||
      posix_spawnattr_setsigdefault(attributes.get(), &all) != 0 ||
      posix_spawnattr_setflags(attributes.get(), POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) !=
          0) {
    throw std::system_error(ENOMEM, std::generic_category(), "posix_spawn attributes");
  }
  std::string cpu = std::to_string(budget.cpu.count());
  std::string memory = std::to_string(budget.memory);
  std::string option = kParseProbeOption;
  std::string program = executable;
  char* argv[] = {program.data(), option.data(), cpu.data(), memory.data(), nullptr};
  pid_t pid = 0;
  // posix_spawn is vfork + exec: safe in a threaded process, and copies no page tables.
  if (const int error =
          posix_spawn(&pid, executable.c_str(), actions.get(), attributes.get(), argv, environ)) {
    throw std::system_error(error, std::generic_category(), "cannot run " + executable);
  }
  return std::make_unique<Child>(pid, std::move(read_end));
}

std::chrono::milliseconds cpu_time(const rusage& usage) {
  const auto micro = [](const timeval& t) {
    return std::chrono::microseconds(t.tv_sec * 1'000'000 + t.tv_usec);
  };
  return std::chrono::duration_cast<milliseconds>(micro(usage.ru_utime) + micro(usage.ru_stime));
}

std::string& bound_executable() {
  static std::string executable;
  return executable;
}

}  // namespace

ParseBudget ParseBudget::for_text(std::size_t bytes) {
  // Measured (release, gcc 12): a 1 MiB list of names, the largest file execmond reads,
  // parses in ~0.3 s of CPU with ~60 bytes of heap per byte; the child starts in ~5 ms.
  ParseBudget budget{};
  const auto kib = static_cast<milliseconds::rep>(bytes >> 10);
  budget.cpu = milliseconds((250 + 2 * kib) * kSlowdown);
  budget.memory = (std::size_t{64} << 20) + 256 * bytes;
  // A busy host gives the child a fraction of a core: the deadline is for one that gets
  // none at all, not for the parser's work.
  budget.wall = milliseconds(5000) + 4 * budget.cpu;
  return budget;
}

void bound_yaml_parsing(std::string executable) { bound_executable() = std::move(executable); }

const std::string& yaml_parse_bound() { return bound_executable(); }

void prove_parse_terminates(std::string_view text, const std::string& name,
                            const std::string& executable, const ParseBudget& budget) {
  const auto uncheckable = [&name](const std::string& why) {
    return ConfigUncheckable(name + ": cannot check the file: " + why);
  };
  const auto refused = [&name](const std::string& why) {
    return ConfigError(name + ": refused: " + why + " (" + kHint + ")");
  };
  int status = 0;
  rusage usage{};
  bool deadline_killed = false;
  try {
    const FileDescriptor input = text_in_memory(text);
    deadline_killed =
        spawn_probe(executable, input, budget)->wait_or_kill(budget.wall, status, usage);
  } catch (const std::system_error& error) {
    throw uncheckable(std::string("cannot run the YAML parser's process: ") + error.what());
  }
  const milliseconds used = cpu_time(usage);
  if (deadline_killed) {
    throw uncheckable(
        "the YAML parser's process did not finish within " + std::to_string(budget.wall.count()) +
        " ms, having had " + std::to_string(used.count()) + " ms of CPU time of its " +
        std::to_string(budget.cpu.count()) + " (a host too busy to run it, or a stopped process)");
  }
  if (WIFEXITED(status)) {
    switch (WEXITSTATUS(status)) {
      case 0:
        return;
      case probe_exit::kOutOfMemory:
        throw refused("parsing it needed more than " + std::to_string(budget.memory >> 20) +
                      " MiB of memory, far more than any valid file of " +
                      std::to_string(text.size()) + " bytes needs");
      case probe_exit::kBadUsage:
        throw uncheckable("the YAML parser's process could not limit itself (exit status " +
                          std::to_string(probe_exit::kBadUsage) + ", see the log above)");
      default:
        throw refused("the YAML parser failed on it (exit status " +
                      std::to_string(WEXITSTATUS(status)) + ")");
    }
  }
  const int signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  // The CPU timer and RLIMIT_CPU kill with SIGKILL or SIGXCPU once the budget is used;
  // a SIGKILL long before that came from elsewhere (the out-of-memory killer, an operator).
  if (signal == SIGXCPU || (signal == SIGKILL && used * 10 >= budget.cpu * 9)) {
    throw refused("parsing it did not finish within " + std::to_string(budget.cpu.count()) +
                  " ms of CPU time, far more than any valid file of " +
                  std::to_string(text.size()) + " bytes needs");
  }
  if (signal == SIGKILL) {
    throw uncheckable("the YAML parser's process was killed (SIGKILL) after " +
                      std::to_string(used.count()) + " ms of CPU time, not by execmond");
  }
  throw refused("the YAML parser crashed on it (" + std::string(signal_name(signal)) + ")");
}

}  // namespace execmond

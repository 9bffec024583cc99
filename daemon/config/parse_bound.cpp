#include "config/parse_bound.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "config/config_error.h"
#include "config/parse_probe.h"
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

// The text in an anonymous file the child reads as its standard input: no pipe to keep
// fed, no file system needed (the container image has none to write to).
FileDescriptor text_in_memory(std::string_view text) {
  FileDescriptor file(memfd_create("execmond-yaml", MFD_CLOEXEC));
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

// A child that has been started and not yet reaped. Its standard output is a pipe the
// daemon polls: the pipe ends when the child does, however it dies.
struct Child {
  pid_t pid;
  FileDescriptor exited;
};

Child spawn_probe(const std::string& executable, const FileDescriptor& input,
                  const ParseBudget& budget) {
  int ends[2];
  if (pipe2(ends, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  FileDescriptor read_end(ends[0]);
  const FileDescriptor write_end(ends[1]);

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
      posix_spawn_file_actions_addclosefrom_np(actions.get(), STDERR_FILENO + 1) != 0 ||
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
  return Child{pid, std::move(read_end)};
}

// Waits until the child is gone or `wall` has passed, then kills it if need be and reaps
// it. Returns whether the deadline killed it.
bool wait_or_kill(const Child& child, milliseconds wall, int& status, rusage& usage) {
  const auto deadline = std::chrono::steady_clock::now() + wall;
  bool killed = false;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(child.pid, SIGKILL);
      killed = true;
      break;
    }
    pollfd gone{child.exited.get(), POLLIN, 0};
    const int ready = poll(&gone, 1, static_cast<int>(left.count()) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      kill(child.pid, SIGKILL);
      killed = true;
      break;
    }
    if (ready > 0) {
      char byte;
      const ssize_t count = read(child.exited.get(), &byte, 1);
      if (count == 0 || (count < 0 && errno != EINTR && errno != EAGAIN)) break;  // the end
    }
  }
  while (wait4(child.pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "wait4");
  }
  return killed;
}

std::chrono::milliseconds cpu_time(const rusage& usage) {
  const auto micro = [](const timeval& t) {
    return std::chrono::microseconds(t.tv_sec * 1'000'000 + t.tv_usec);
  };
  return std::chrono::duration_cast<milliseconds>(micro(usage.ru_utime) + micro(usage.ru_stime));
}

std::string signal_name(int signal) {
  const char* abbreviation = sigabbrev_np(signal);
  return abbreviation ? std::string("SIG") + abbreviation : "signal " + std::to_string(signal);
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
    const Child child = spawn_probe(executable, input, budget);
    deadline_killed = wait_or_kill(child, budget.wall, status, usage);
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
  throw refused("the YAML parser crashed on it (" + signal_name(signal) + ")");
}

}  // namespace execmond

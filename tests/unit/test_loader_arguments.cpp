// SPDX-License-Identifier: Apache-2.0
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "binaries/loader_arguments.h"

extern char** environ;

namespace execmond {
namespace {

constexpr const char* kGlibcLoader = "/lib64/ld-linux-x86-64.so.2";
constexpr const char* kMuslLoader = "/lib/ld-musl-x86_64.so.1";

std::string joined(const std::vector<std::string>& argv) {
  std::string args;
  for (const std::string& arg : argv) {
    args += arg;
    args += '\0';
  }
  return args;
}

// What the real loader does with this argv: which program it tried to open (the
// candidates are paths that do not exist, so it names the one it tried in its error),
// or "none".
std::string real_loader_opens(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  char* empty_environment[] = {nullptr};
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), empty_environment) ==
          0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  std::string output;
  char buffer[4096];
  for (ssize_t got; (got = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0;)
    output.append(buffer, static_cast<std::size_t>(got));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  for (const char* candidate : {"/nonexistent/P1", "/nonexistent/P2", "/nonexistent/P3"})
    if (output.find(std::string("load ") + candidate) != std::string::npos ||
        output.find(std::string(candidate) + ": cannot open") != std::string::npos)
      return candidate;
  return "none";
}

std::string parser_says(LoaderFamily family, const std::vector<std::string>& argv) {
  const std::string args = joined(argv);
  const LoaderRun run = parse_loader_arguments(family, args, false);
  if (run.kind == LoaderRun::Kind::kProgram) return std::string(run.program);
  return run.kind == LoaderRun::Kind::kNoProgram ? "none" : "undetermined";
}

}  // namespace

TEST_CASE("glibc's loader options, checked against the real ld.so", "[loader]") {
  const std::string L = kGlibcLoader;
  REQUIRE(::access(kGlibcLoader, X_OK) == 0);
  const std::vector<std::vector<std::string>> cases = {
      {L, "/nonexistent/P1", "a"},
      {L, "--argv0", "/nonexistent/P2", "/nonexistent/P1"},
      {L, "--library-path", "/nonexistent/P2", "/nonexistent/P1", "/nonexistent/P3"},
      {L, "--inhibit-rpath", "x", "--inhibit-cache", "/nonexistent/P1"},
      {L, "--audit", "/nonexistent/P2", "--preload", "/nonexistent/P3", "/nonexistent/P1"},
      {L, "--glibc-hwcaps-prepend", "x", "--glibc-hwcaps-mask", "y", "/nonexistent/P1"},
      {L, "--glibc-hwcaps-prefix", "x", "/nonexistent/P1"},  // not an option: usage
      {L, "--list", "/nonexistent/P1"},
      {L, "--list-tunables", "/nonexistent/P1"},
      {L, "--list-diagnostics", "/nonexistent/P1"},
      {L, "--list-tunables", "--list", "/nonexistent/P1"},
      {L, "--version", "/nonexistent/P1"},
      {L, "--", "/nonexistent/P1"},  // refused by glibc 2.36, the program run by 2.41
      {L, "--bogus", "/nonexistent/P1"},
      {L, "-x", "/nonexistent/P1"},  // one dash: the program's name
      {L, "--argv0"},                // no value: unrecognized
      {L, "--argv0", "x"},           // no program
      {L},
  };
  for (const auto& argv : cases) {
    INFO(joined(argv));
    const std::string real = real_loader_opens(argv);
    const std::string parsed = parser_says(LoaderFamily::kGlibc, argv);
    // "-x" is tried as a program named "-x": the real loader's message names it.
    if (argv.size() > 1 && argv[1] == "-x") {
      CHECK(parsed == "-x");
      continue;
    }
    // "--": the program that runs where the loader accepts it (Debian 13); where it does
    // not (Debian 12), nothing runs and judging the program costs at most an alert.
    if (argv.size() > 2 && argv[1] == "--") {
      CHECK(parsed == "/nonexistent/P1");
      CHECK((real == "/nonexistent/P1" || real == "none"));
      continue;
    }
    CHECK(parsed == real);
  }
}

TEST_CASE("musl's loader options, checked against the real ld-musl", "[loader]") {
  const std::string M = kMuslLoader;
  REQUIRE(::access(kMuslLoader, X_OK) == 0);  // Debian's "musl" package
  const std::vector<std::vector<std::string>> cases = {
      {M, "/nonexistent/P1"},
      {M, "--argv0", "/nonexistent/P2", "/nonexistent/P1"},
      {M, "--argv0=/nonexistent/P2", "/nonexistent/P1"},
      {M, "--library-path", "/nonexistent/P2", "--preload=/nonexistent/P3", "/nonexistent/P1"},
      {M, "--list", "/nonexistent/P1"},
      {M, "--", "/nonexistent/P1", "/nonexistent/P2"},
      {M, "--", "--argv0", "/nonexistent/P1"},
      {M, "--library-pathX", "/nonexistent/P2", "/nonexistent/P1"},
      {M, "--bogus", "/nonexistent/P1"},
      {M, "--argv0"},
      {M},
  };
  for (const auto& argv : cases) {
    INFO(joined(argv));
    const std::string parsed = parser_says(LoaderFamily::kMusl, argv);
    if (argv.size() > 2 && argv[1] == "--" && argv[2] == "--argv0") {
      CHECK(parsed == "--argv0");  // a program named "--argv0", which musl tries to load
      continue;
    }
    CHECK(parsed == real_loader_opens(argv));
  }
}

TEST_CASE("what a loader maps without running, and the libraries it loads", "[loader]") {
  const auto parse = [](LoaderFamily family, std::vector<std::string> argv) {
    static std::string args;
    args = joined(argv);
    return parse_loader_arguments(family, args, false);
  };
  const LoaderRun ldd = parse(LoaderFamily::kGlibc, {"ld.so", "--verify", "/usr/bin/true"});
  CHECK(ldd.kind == LoaderRun::Kind::kProgram);
  CHECK(ldd.maps_only);
  CHECK(parse(LoaderFamily::kGlibc, {"ld.so", "--list", "/usr/bin/true"}).maps_only);
  CHECK(parse(LoaderFamily::kGlibc, {"ld.so", "--help", "/usr/bin/true"}).maps_only);
  CHECK(parse(LoaderFamily::kGlibc, {"ld.so", "--help", "--list", "/x"}).maps_only);
  CHECK_FALSE(parse(LoaderFamily::kGlibc, {"ld.so", "/tmp/x/evil"}).maps_only);
  CHECK(parse(LoaderFamily::kMusl, {"/usr/bin/ldd", "/tmp/x/evil"}).maps_only);  // musl's ldd
  const LoaderRun preloads =
      parse(LoaderFamily::kGlibc, {"ld.so", "--preload", "/tmp/a.so:/tmp/b.so libc.so", "--audit",
                                   "/tmp/c.so", "--library-path", "/tmp", "prog"});
  CHECK(preloads.libraries ==
        std::vector<std::string_view>{"/tmp/a.so", "/tmp/b.so", "libc.so", "/tmp/c.so"});
  CHECK(preloads.library_path);
  CHECK(preloads.program == "prog");
  CHECK(loader_family("/lib/ld-musl-x86_64.so.1") == LoaderFamily::kMusl);
  CHECK(loader_family("/lib64/ld-linux-x86-64.so.2") == LoaderFamily::kGlibc);
}

TEST_CASE("a cut argv leaves the program undetermined when it may be cut", "[loader]") {
  const std::string cut = joined({"ld.so", "--argv0", "x", "/tmp/x/ev"});
  CHECK(parse_loader_arguments(LoaderFamily::kGlibc, cut, true).kind ==
        LoaderRun::Kind::kUndetermined);
  const std::string whole = joined({"ld.so", "/tmp/x/evil", "arg"});
  const LoaderRun run = parse_loader_arguments(LoaderFamily::kGlibc, whole, true);
  CHECK(run.kind == LoaderRun::Kind::kProgram);
  CHECK(run.program == "/tmp/x/evil");
  const std::string options_only = joined({"ld.so", "--library-path"});
  CHECK(parse_loader_arguments(LoaderFamily::kGlibc, options_only, true).kind ==
        LoaderRun::Kind::kUndetermined);
  CHECK(split_arguments(std::string("a\0b\0", 4)) == std::vector<std::string_view>{"a", "b"});
  CHECK(split_arguments(std::string("a\0\0b", 4)) == std::vector<std::string_view>{"a", "", "b"});
}

}  // namespace execmond

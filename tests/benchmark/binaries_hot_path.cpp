// What the daemon pays per exec record the kernel answered from its verdict cache
// (issue 13 item 11: at most 0.1 us per event): an UNEXPECTED exec counted and its log
// line refused by the file's budget, the verdict cache's lookup, and an ALLOWED exec (the
// stage is not even called for those: measured for comparison). Prints figures; not a
// test with a time limit.
//
// Usage: binaries_hot_path [EVENTS]
#include <fcntl.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "binaries/binary_judge.h"
#include "binaries/file_facts.h"
#include "binaries/host_loaders.h"
#include "binaries/host_paths.h"
#include "binaries/live_mount_table.h"
#include "binaries/unexpected_binaries.h"
#include "metrics/unexpected_binary_metrics.h"

namespace {

using namespace execmond;

class NullCache : public BinaryVerdictCache {
 public:
  void write(const execmond_binary_id&, execmond_verdict) override {}
  void erase(const execmond_binary_id&) override {}
  void clear() override {}
};

std::uint64_t now_ns(clockid_t clock) {
  timespec now{};
  ::clock_gettime(clock, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u + now.tv_nsec;
}

template <class Body>
double ns_per_event(std::uint64_t events, Body body) {
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < events; ++i) body(i);
  const auto spent = std::chrono::steady_clock::now() - start;
  return std::chrono::duration<double, std::nano>(spent).count() / static_cast<double>(events);
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("null", std::make_shared<spdlog::sinks::null_sink_st>()));

  // A real unexpected file, judged once from its binary record as the daemon would.
  char dir[] = "/tmp/execmond-hot-path-XXXXXX";
  if (!::mkdtemp(dir)) return 1;
  const std::string path = std::string(dir) + "/storm";
  std::ofstream(path) << "x";
  LiveMountTable mounts("/proc/self/mountinfo");
  HostPaths host(FileDescriptor(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)), mounts);
  const HostLoaders loaders;
  BinaryJudge judge(host, loaders, [] { return now_ns(CLOCK_REALTIME) + 1'000'000'000; });
  NullCache kernel;
  UnexpectedBinaryMetrics metrics;
  const UnexpectedExecLog log(UnexpectedExecLog::Output::kStderr);
  UnexpectedBinaries stage(kernel, metrics, log, judge, loaders);
  stage.replace_allow_list(BinaryAllowList({"/usr/bin/*"}));

  execmond_binary_event record{};
  record.hdr.type = EXECMOND_EVENT_BINARY;
  record.hdr.timestamp_ns = now_ns(CLOCK_BOOTTIME);
  record.hdr.pid = static_cast<std::uint32_t>(::getpid());
  std::strncpy(record.hdr.comm, "storm", sizeof(record.hdr.comm) - 1);
  const FileDescriptor fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  const std::optional<FileFacts> facts = file_facts(fd.get());
  if (!facts) return 1;
  record.binary = {facts->ino, facts->ctime_ns, facts->dev, 0};
  path.copy(record.path, sizeof(record.path) - 1);
  const auto location = filesystem_location(mounts.current(), facts->mount_id, path);
  if (!location) return 1;
  location->fs_path.copy(record.fs_path, sizeof(record.fs_path) - 1);
  struct stat ns {};
  ::stat("/proc/self/ns/mnt", &ns);
  record.ctx.mntns = static_cast<std::uint32_t>(ns.st_ino);
  const ExecVerdict* verdict = stage.on_binary(record);
  if (!verdict || verdict->allowed) {
    std::fprintf(stderr, "the storm's file was not judged unexpected\n");
    return 1;
  }

  execmond_exec_event exec{};
  exec.hdr = record.hdr;
  exec.binary = record.binary;
  exec.binary_flags = EXECMOND_BINARY_UNEXPECTED;
  const double unexpected = ns_per_event(events, [&](std::uint64_t i) {
    exec.hdr.timestamp_ns = record.hdr.timestamp_ns + i * 40'000;  // 25,000 execs/s
    stage.on_exec(exec);
  });
  exec.binary_flags = EXECMOND_BINARY_ALLOWED;
  const double allowed = ns_per_event(events, [&](std::uint64_t) { stage.on_exec(exec); });
  execmond_binary_id other = record.binary;
  const VerdictCache& cache = stage.verdicts();
  const double lookup = ns_per_event(events, [&](std::uint64_t i) {
    other.ino = record.binary.ino + (i & 1023);
    if (const_cast<VerdictCache&>(cache).find(other)) other.view ^= 0;
  });

  std::printf("daemon per exec record answered by the kernel's verdict cache (%llu events):\n",
              static_cast<unsigned long long>(events));
  std::printf("  UNEXPECTED (counted, log line refused by the file's budget): %.3f us\n",
              unexpected / 1000);
  std::printf("  ALLOWED (nothing to do):                                      %.3f us\n",
              allowed / 1000);
  std::printf("  verdict cache lookup alone:                                   %.3f us\n",
              lookup / 1000);
  std::filesystem::remove_all(dir);
  return 0;
}

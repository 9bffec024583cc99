#include "config/parse_probe.h"

#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "config/located_yaml.h"

namespace execmond {
namespace {

// AddressSanitizer reserves terabytes of address space for its shadow memory and counts
// it as data: a heap limit would stop it before main(). Its builds are bounded by CPU
// time alone (which bounds the memory a runaway parser can touch, too).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kHeapLimitPossible = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kHeapLimitPossible = false;
#else
constexpr bool kHeapLimitPossible = true;
#endif
#else
constexpr bool kHeapLimitPossible = true;
#endif

bool parse_number(const char* text, std::uint64_t& value) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long parsed = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') return false;
  value = parsed;
  return true;
}

[[noreturn]] void out_of_memory() { _exit(probe_exit::kOutOfMemory); }

// The heap the process holds now (VmData, what RLIMIT_DATA is compared with), so that the
// budget is what the parse may add, whatever the binary's libraries already took.
std::uint64_t data_segment_now() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmData:", 0) == 0) return std::strtoull(line.c_str() + 7, nullptr, 10) << 10;
  }
  return 0;
}

// A failed allocation ends the probe with a code of its own: the parent then says which
// budget ran out. The new handler catches the allocations made where an exception cannot
// pass (noexcept code) too.
void limit_heap(std::uint64_t bytes) {
  if (!kHeapLimitPossible) return;
  const rlim_t limit = data_segment_now() + bytes;
  const rlimit data{limit, limit};
  if (setrlimit(RLIMIT_DATA, &data) != 0) {
    std::fprintf(stderr, "execmond parse probe: cannot limit the heap: %s\n", std::strerror(errno));
    std::_Exit(probe_exit::kBadUsage);
  }
  std::set_new_handler(out_of_memory);
}

// SIGKILL once the process has used `milliseconds` of CPU time: a timer on its own CPU
// clock, exact to the scheduler tick, that nothing in the process can catch. RLIMIT_CPU, in
// whole seconds, backs it up. No core dump for a runaway parser.
void limit_cpu(std::uint64_t milliseconds) {
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  const rlim_t seconds = milliseconds / 1000 + 2;
  const rlimit cpu{seconds, seconds};
  sigevent event{};
  event.sigev_notify = SIGEV_SIGNAL;
  event.sigev_signo = SIGKILL;
  timer_t timer{};
  itimerspec expiry{};
  expiry.it_value.tv_sec = static_cast<time_t>(milliseconds / 1000);
  expiry.it_value.tv_nsec = static_cast<long>(milliseconds % 1000) * 1'000'000;
  if (setrlimit(RLIMIT_CPU, &cpu) != 0 ||
      timer_create(CLOCK_PROCESS_CPUTIME_ID, &event, &timer) != 0 ||
      timer_settime(timer, 0, &expiry, nullptr) != 0) {
    std::fprintf(stderr, "execmond parse probe: cannot limit CPU time: %s\n", std::strerror(errno));
    std::_Exit(probe_exit::kBadUsage);
  }
}

std::string read_standard_input() {
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t count = read(STDIN_FILENO, buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return text;
    text.append(buffer, static_cast<std::size_t>(count));
  }
}

// A test knob: EXECMOND_INJECT_PARSER_FAULT makes the parse of a text that contains the
// comment "# inject-parser-fault" misbehave as a parser defect would, so that the tests
// can prove the bound holds at start, with --check-config and on reload. The daemon can
// start with the knob set and meet the fault only in the file a test reloads.
//   spin: computes forever; allocate: takes memory forever; hang: waits forever, using
//   no CPU; crash: dies by SIGSEGV; loadall: YAML::LoadAll, which yaml-cpp 0.7 and 0.8 never
//   finish on a stray "," (the defect that made this bound necessary).
void inject_parser_fault(const std::string& text) {
  const char* fault = std::getenv("EXECMOND_INJECT_PARSER_FAULT");
  if (fault == nullptr || text.find("# inject-parser-fault") == std::string::npos) return;
  const std::string kind = fault;
  if (kind == "spin") {
    for (volatile std::uint64_t turn = 0;; turn = turn + 1) {
    }
  } else if (kind == "allocate") {
    std::vector<std::unique_ptr<char[]>> taken;
    for (;;) {
      constexpr std::size_t kChunk = std::size_t{1} << 20;
      taken.emplace_back(new char[kChunk]);
      std::memset(taken.back().get(), 1, kChunk);  // touched, as a parser's nodes are
    }
  } else if (kind == "hang") {
    for (;;) pause();
  } else if (kind == "crash") {
    raise(SIGSEGV);
  } else if (kind == "loadall") {
    YAML::LoadAll(text);
  }
}

}  // namespace

bool probe_limits_heap() { return kHeapLimitPossible; }

bool is_parse_probe(int argc, char* const argv[]) {
  return argc >= 2 && std::strcmp(argv[1], kParseProbeOption) == 0;
}

int run_parse_probe(int argc, char* const argv[]) {
  std::uint64_t cpu_ms = 0;
  std::uint64_t heap_bytes = 0;
  if (argc != 4 || !parse_number(argv[2], cpu_ms) || !parse_number(argv[3], heap_bytes) ||
      cpu_ms == 0 || heap_bytes == 0) {
    std::fprintf(stderr, "usage: execmond %s CPU_MS HEAP_BYTES < file.yaml (internal)\n",
                 kParseProbeOption);
    return probe_exit::kBadUsage;
  }
  limit_cpu(cpu_ms);
  const std::string text = read_standard_input();
  limit_heap(heap_bytes);
  inject_parser_fault(text);
  try {
    load_single_document(ConfigSource(text, "<probe>"));
  } catch (const ConfigError&) {
    // Invalid YAML that yaml-cpp reported: the parse terminated, which is all this proves.
  } catch (const std::bad_alloc&) {
    return probe_exit::kOutOfMemory;
  }
  return 0;
}

}  // namespace execmond

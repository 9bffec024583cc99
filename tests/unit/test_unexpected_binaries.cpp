#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "binaries/log_rate_limiter.h"
#include "binaries/unexpected_binaries.h"
#include "metrics/unexpected_binary_metrics.h"

namespace execmond {
namespace {

constexpr std::uint64_t kSecond = 1'000'000'000;

class RecordingCache : public BinaryVerdictCache {
 public:
  void write(const execmond_binary_id& binary, execmond_verdict verdict) override {
    CHECK(verdict == EXECMOND_VERDICT_ALLOWED);
    allowed.push_back(binary.ino);
  }
  void erase(const execmond_binary_id&) override { FAIL("nothing is evicted here"); }
  void clear() override { ++clears; }
  std::vector<std::uint64_t> allowed;
  int clears = 0;
};

execmond_binary_event binary_record(const std::string& path, const char* comm, std::uint64_t ino,
                                    std::uint32_t flags = 0) {
  execmond_binary_event e{};
  e.hdr.type = EXECMOND_EVENT_BINARY;
  e.hdr.timestamp_ns = 10 * kSecond;
  std::strncpy(e.hdr.comm, comm, sizeof(e.hdr.comm) - 1);
  e.binary.ino = ino;
  e.binary_flags = flags;
  path.copy(e.path, sizeof(e.path) - 1);
  return e;
}

// execmond_unexpected_execs_total by (path, comm), from a Collect().
std::map<std::pair<std::string, std::string>, double> unexpected_execs(
    const UnexpectedBinaryMetrics& metrics) {
  std::map<std::pair<std::string, std::string>, double> counts;
  for (const auto& family : metrics.Collect()) {
    if (family.name != "execmond_unexpected_execs_total") continue;
    for (const auto& metric : family.metric) {
      std::string path, comm;
      for (const auto& label : metric.label) (label.name == "path" ? path : comm) = label.value;
      counts[{path, comm}] = metric.counter.value;
    }
  }
  return counts;
}

double scalar(const UnexpectedBinaryMetrics& metrics, const std::string& name) {
  for (const auto& family : metrics.Collect())
    if (family.name == name)
      return family.metric.at(0).gauge.value + family.metric.at(0).counter.value;
  FAIL("no family " << name);
  return -1;
}

}  // namespace

TEST_CASE("one path may log a burst, then one line a minute", "[binaries][ratelimit]") {
  LogRateLimiter limiter;  // 5 at once, one a minute; 100 overall, 10 a second
  int admitted = 0;
  for (int i = 0; i < 50; ++i) admitted += limiter.admit("/tmp/x", kSecond);
  CHECK(admitted == 5);
  CHECK_FALSE(limiter.admit("/tmp/x", 30 * kSecond));
  CHECK(limiter.admit("/tmp/x", 62 * kSecond));
  CHECK_FALSE(limiter.admit("/tmp/x", 63 * kSecond));
  // Other paths have budgets of their own.
  CHECK(limiter.admit("/tmp/y", 63 * kSecond));
}

TEST_CASE("a flood of distinct paths is held back by the overall budget", "[binaries][ratelimit]") {
  LogRateLimiter limiter;
  int admitted = 0;
  for (int i = 0; i < 20000; ++i)
    admitted += limiter.admit("/tmp/r" + std::to_string(i), kSecond);  // all at one instant
  CHECK(admitted == 100);
  // Ten a second afterwards.
  admitted = 0;
  for (int i = 0; i < 1000; ++i)
    admitted += limiter.admit("/tmp/s" + std::to_string(i), kSecond + i * (kSecond / 1000));
  CHECK(admitted >= 9);
  CHECK(admitted <= 11);
}

TEST_CASE("limits are configurable and time never runs backwards", "[binaries][ratelimit]") {
  LogRateLimiter limiter({1, 1, 1000, 1000});
  CHECK(limiter.admit("/a", 5 * kSecond));
  CHECK_FALSE(limiter.admit("/a", 4 * kSecond));  // an older timestamp refills nothing
  CHECK(limiter.admit("/a", 6 * kSecond));
}

// Routes spdlog into a string for the life of the object.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text_);
    sink->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return text_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream text_;
};

TEST_CASE("an unexpected exec is one structured line, rate-limited per path", "[binaries]") {
  RecordingCache cache;
  UnexpectedBinaryMetrics metrics;
  const UnexpectedExecLog log(false);
  UnexpectedBinaries binaries(cache, metrics, log, BinaryAllowList({"/usr/bin/*"}));
  CapturedLog captured;
  auto e = binary_record("/usr/bin/dash", "run\nme", 77, EXECMOND_BINARY_SCRIPT);
  std::string("/tmp/x/../run.sh").copy(e.script_path, sizeof(e.script_path));
  e.hdr.pid = 4242;
  e.hdr.ppid = 4241;
  e.hdr.uid = 1000;
  e.hdr.gid = 100;
  std::strncpy(e.hdr.parent_comm, "bash", sizeof(e.hdr.parent_comm));
  e.binary.dev = (8u << 20) | 1;
  e.hdr.cgroup_id = 9001;
  for (int i = 0; i < 8; ++i) binaries.on_binary(e);
  const std::string text = captured.text();
  CHECK(text.rfind(
            R"(warning msg="unexpected exec" path="/tmp/run.sh" interpreter="/usr/bin/dash" )"
            R"(comm="run\\x0ame" pid="4242" ppid="4241" parent_comm="bash" uid="1000" gid="100" )"
            R"(inode="77" device="8:1" flags="none" cgroup_id="9001")"
            "\n",
            0) == 0);
  // Five lines at once for one path, the rest counted.
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n';
  CHECK(lines == 5);
  CHECK(scalar(metrics, "execmond_unexpected_exec_logs_suppressed_total") == 3);
  CHECK(unexpected_execs(metrics).at({"/tmp/run.sh", "run\\x0ame"}) == 8);
}

TEST_CASE("allowed binaries are cached in the kernel, unexpected ones counted", "[binaries]") {
  CapturedLog quiet;
  RecordingCache cache;
  UnexpectedBinaryMetrics metrics;
  const UnexpectedExecLog log(false);
  UnexpectedBinaries binaries(cache, metrics, log, BinaryAllowList({"/usr/bin/*"}));

  binaries.on_binary(binary_record("/usr/bin/true", "true", 1));
  CHECK(cache.allowed == std::vector<std::uint64_t>{1});
  binaries.on_binary(binary_record("/tmp/d/sshd", "sshd", 2));
  binaries.on_binary(binary_record("/tmp/d/sshd", "sshd", 2));
  binaries.on_binary(binary_record("/tmp/d/sshd", "bash", 2));
  // Never cached, whatever the pattern: no honest name.
  binaries.on_binary(binary_record("/usr/bin/x (deleted)", "x", 3, EXECMOND_BINARY_DELETED));
  CHECK(cache.allowed == std::vector<std::uint64_t>{1});
  const auto counts = unexpected_execs(metrics);
  CHECK(counts.at({"/tmp/d/sshd", "sshd"}) == 2);
  CHECK(counts.at({"/tmp/d/sshd", "bash"}) == 1);
  CHECK(counts.at({"/usr/bin/x (deleted)", "x"}) == 1);
  CHECK(counts.size() == 3);

  // An allowed script is not cached: the kernel only sees its interpreter.
  auto script = binary_record("/usr/bin/dash", "s.sh", 4, EXECMOND_BINARY_SCRIPT);
  std::string("/usr/bin/s.sh").copy(script.script_path, sizeof(script.script_path));
  binaries.on_binary(script);
  CHECK(cache.allowed == std::vector<std::uint64_t>{1});
  CHECK(unexpected_execs(metrics).size() == 3);

  // A new list: the kernel's cache is forgotten, counters stay.
  binaries.replace_allow_list(BinaryAllowList({"/tmp/**"}));
  CHECK(cache.clears == 1);
  binaries.on_binary(binary_record("/tmp/d/sshd", "sshd", 2));
  binaries.on_binary(binary_record("/usr/bin/true", "true", 1));
  CHECK(cache.allowed == std::vector<std::uint64_t>{1, 2});
  CHECK(unexpected_execs(metrics).at({"/usr/bin/true", "true"}) == 1);
  CHECK(unexpected_execs(metrics).at({"/tmp/d/sshd", "sshd"}) == 2);
}

TEST_CASE("a burst of one new allowed binary is written to the kernel once a second",
          "[binaries]") {
  RecordingCache cache;
  UnexpectedBinaryMetrics metrics;
  const UnexpectedExecLog log(false);
  UnexpectedBinaries binaries(cache, metrics, log, BinaryAllowList({"/usr/bin/*"}));
  auto e = binary_record("/usr/bin/true", "true", 9);
  for (int i = 0; i < 100; ++i) {
    e.hdr.timestamp_ns = 10 * kSecond + i * 1'000'000;  // 100 records in 0.1 s
    binaries.on_binary(e);
  }
  CHECK(cache.allowed == std::vector<std::uint64_t>{9});
  e.hdr.timestamp_ns = 12 * kSecond;  // still coming: the kernel may have evicted it
  binaries.on_binary(e);
  CHECK(cache.allowed == std::vector<std::uint64_t>{9, 9});
  e.binary.ctime_ns = 1;  // the file changed: a new identity
  binaries.on_binary(e);
  CHECK(cache.allowed == std::vector<std::uint64_t>{9, 9, 9});
}

TEST_CASE("unexpected series are bounded; the rest is counted in the overflow", "[binaries]") {
  RecordingCache cache;
  UnexpectedBinaryMetrics metrics;
  const UnexpectedExecLog log(false);
  UnexpectedBinaries binaries(cache, metrics, log, BinaryAllowList());
  spdlog::set_level(spdlog::level::off);  // 100 lines pass the limiter
  for (int i = 0; i < 20000; ++i)
    binaries.on_binary(binary_record("/tmp/r/" + std::to_string(i), "x", 1));
  spdlog::set_level(spdlog::level::info);
  const auto counts = unexpected_execs(metrics);
  CHECK(counts.size() == UnexpectedBinaryMetrics::kMaxSeries + 1);
  CHECK(counts.at({"execmond_overflow", "execmond_overflow"}) ==
        20000 - UnexpectedBinaryMetrics::kMaxSeries);
  CHECK(scalar(metrics, "execmond_unexpected_series") == UnexpectedBinaryMetrics::kMaxSeries);
  CHECK(scalar(metrics, "execmond_unexpected_overflow_execs_total") ==
        20000 - UnexpectedBinaryMetrics::kMaxSeries);
  CHECK(scalar(metrics, "execmond_unexpected_exec_logs_suppressed_total") == 20000 - 100);
}

TEST_CASE("path labels are escaped like comm, and never the overflow value", "[binaries]") {
  UnexpectedBinaryMetrics metrics;
  metrics.record_exec(std::string("/tmp/a\nb\xff\\", 10), CommName(std::string_view("c\x01")));
  metrics.record_exec("/tmp/\xc3\xa9", CommName(std::string_view("x")));
  const auto counts = unexpected_execs(metrics);
  CHECK(counts.at({"/tmp/a\\x0ab\\xff\\\\", "c\\x01"}) == 1);
  CHECK(counts.at({"/tmp/\xc3\xa9", "x"}) == 1);
  // Every path starts with '/', kept by escaping; the overflow value does not.
  CHECK(kOverflowPathLabel.front() != '/');
  CHECK(UnexpectedExecLabels(UnexpectedExecKey("/x", CommName())).path.front() == '/');
}

}  // namespace execmond

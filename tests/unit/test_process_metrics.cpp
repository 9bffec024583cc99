// The aggregator as Prometheus sees it: exact counts, valid histograms, the series
// bound, filters, an exposition promtool accepts, and scrapes during recording.
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cgroups/interned_names.h"
#include "http/text_writer.h"
#include "metric_families.h"
#include "metrics/process_metrics.h"

namespace {

using execmond::CommName;
using execmond::ExitStatus;
using execmond::ProcessMetrics;
using execmond::SeriesSettings;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using Labels = std::vector<ClientMetric::Label>;

constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kSecond = 1'000'000'000;

SeriesSettings options(std::size_t max_comm_series) {
  SeriesSettings o;
  o.max_comm_series = max_comm_series;
  return o;
}

ExitStatus exited(int code) {
  return ExitStatus::from_wait_status(static_cast<std::uint32_t>(code) << 8);
}
ExitStatus killed(int signal, bool core = false) {
  return ExitStatus::from_wait_status(static_cast<std::uint32_t>(signal) | (core ? 0x80 : 0));
}

const MetricFamily& family(const std::vector<MetricFamily>& families, const std::string& name) {
  for (const MetricFamily& f : families)
    if (f.name == name) return f;
  FAIL("no family " << name);
  throw;  // unreachable: FAIL throws
}

// The metric of `name` whose labels are exactly `labels`, or nullptr.
const ClientMetric* find(const std::vector<MetricFamily>& families, const std::string& name,
                         const Labels& labels) {
  for (const ClientMetric& m : family(families, name).metric)
    if (m.label == labels) return &m;
  return nullptr;
}

double counter(const std::vector<MetricFamily>& families, const std::string& name,
               const Labels& labels) {
  const ClientMetric* m = find(families, name, labels);
  INFO(name << " with " << labels.size() << " labels");
  REQUIRE(m != nullptr);
  return m->counter.value;
}

double gauge(const std::vector<MetricFamily>& families, const std::string& name) {
  return family(families, name).metric.at(0).gauge.value;
}

Labels comm(const std::string& value) { return {{"comm", value}}; }
Labels comm(const std::string& value, const std::string& name, const std::string& label) {
  return {{"comm", value}, {name, label}};
}

// What /metrics serves, in the text format.
std::string exposition(const ProcessMetrics& metrics) {
  execmond::http::StringSink sink;
  execmond::http::TextWriter writer(sink);
  metrics.collect(writer);
  writer.finish();
  return sink.text;
}

// Every bucket count at most the next, and the count the +Inf bucket's.
void check_histograms(const std::vector<MetricFamily>& families) {
  for (const ClientMetric& m : family(families, "execmond_process_duration_seconds").metric) {
    const auto& buckets = m.histogram.bucket;
    REQUIRE(buckets.size() == 17);
    for (std::size_t i = 1; i < buckets.size(); ++i)
      REQUIRE(buckets[i - 1].cumulative_count <= buckets[i].cumulative_count);
    REQUIRE(buckets.back().upper_bound == std::numeric_limits<double>::infinity());
    REQUIRE(m.histogram.sample_count == buckets.back().cumulative_count);
  }
}

}  // namespace

TEST_CASE("a known sequence of events gives exact counts", "[process_metrics]") {
  ProcessMetrics metrics(options(100));
  const CommName bash("bash"), ls("ls");
  for (int i = 0; i < 3; ++i) metrics.record_exec(bash);
  metrics.record_exec(ls);
  metrics.record_exec(ls);
  metrics.record_exit(bash, exited(0), 2 * kMs);
  metrics.record_exit(bash, exited(1), 3 * kMs);
  metrics.record_exit(bash, killed(SIGKILL), 4 * kMs);
  metrics.record_exit(ls, exited(2), kMs);
  metrics.record_exit(ls, killed(SIGSEGV, true), kMs);
  metrics.record_exit(ls, killed(SIGSEGV), kMs);
  metrics.record_exec_failure(bash, ENOENT);
  metrics.record_exec_failure(bash, ENOENT);
  metrics.record_exec_failure(bash, EACCES);

  const auto families = execmond::testing::collect_families(metrics);
  CHECK(counter(families, "execmond_execs_total", comm("bash")) == 3);
  CHECK(counter(families, "execmond_execs_total", comm("ls")) == 2);
  CHECK(counter(families, "execmond_exits_total", comm("bash")) == 3);
  CHECK(counter(families, "execmond_exits_total", comm("ls")) == 3);
  CHECK(counter(families, "execmond_exits_nonzero_total", comm("bash")) == 1);
  CHECK(counter(families, "execmond_exits_nonzero_total", comm("ls")) == 1);
  CHECK(counter(families, "execmond_exits_signaled_total", comm("bash", "signal", "SIGKILL")) == 1);
  CHECK(counter(families, "execmond_exits_signaled_total", comm("ls", "signal", "SIGSEGV")) == 2);
  CHECK(family(families, "execmond_exits_signaled_total").metric.size() == 2);
  CHECK(counter(families, "execmond_exec_failures_total", comm("bash", "errno", "ENOENT")) == 2);
  CHECK(counter(families, "execmond_exec_failures_total", comm("bash", "errno", "EACCES")) == 1);
  CHECK(family(families, "execmond_exec_failures_total").metric.size() == 2);
  CHECK(gauge(families, "execmond_comm_series") == 2);
  CHECK(gauge(families, "execmond_comm_series_limit") == 100);
  CHECK(counter(families, "execmond_comm_overflow_events_total", {}) == 0);
  // No overflow series until a name overflows.
  CHECK(find(families, "execmond_execs_total", comm("execmond_overflow")) == nullptr);

  const ClientMetric* bash_lifetimes =
      find(families, "execmond_process_duration_seconds", comm("bash"));
  REQUIRE(bash_lifetimes != nullptr);
  CHECK(bash_lifetimes->histogram.sample_count == 3);
  CHECK(bash_lifetimes->histogram.sample_sum == Approx(0.009));
  check_histograms(families);
}

TEST_CASE("a name that only failed to exec has counters but no histogram", "[process_metrics]") {
  ProcessMetrics metrics(options(10));
  metrics.record_exec_failure(CommName("cron"), E2BIG);
  const auto families = execmond::testing::collect_families(metrics);
  CHECK(counter(families, "execmond_execs_total", comm("cron")) == 0);
  CHECK(counter(families, "execmond_exec_failures_total", comm("cron", "errno", "E2BIG")) == 1);
  CHECK(family(families, "execmond_process_duration_seconds").metric.empty());
}

TEST_CASE("lifetime_histogram: false hides the histogram, keeps counting lifetimes",
          "[process_metrics]") {
  SeriesSettings without = options(10);
  without.lifetime_histogram = false;
  ProcessMetrics metrics(without);
  metrics.record_exec(CommName("sh"));
  metrics.record_exit(CommName("sh"), exited(0), 2 * kMs);
  auto families = execmond::testing::collect_families(metrics);
  CHECK(counter(families, "execmond_exits_total", comm("sh")) == 1);
  CHECK(family(families, "execmond_process_duration_seconds").metric.empty());
  // A reload turns it back on: the lifetime recorded meanwhile is there.
  without.lifetime_histogram = true;
  metrics.apply(without);
  families = execmond::testing::collect_families(metrics);
  const ClientMetric* lifetimes = find(families, "execmond_process_duration_seconds", comm("sh"));
  REQUIRE(lifetimes != nullptr);
  CHECK(lifetimes->histogram.sample_count == 1);
}

TEST_CASE("a lifetime exactly on a bound counts in that bound's bucket", "[process_metrics]") {
  ProcessMetrics metrics(options(10));
  const CommName sleep("sleep");
  metrics.record_exit(sleep, exited(0), 0);                    // le 0.001
  metrics.record_exit(sleep, exited(0), kMs);                  // le 0.001
  metrics.record_exit(sleep, exited(0), kMs + 1);              // le 0.005
  metrics.record_exit(sleep, exited(0), 3600 * kSecond);       // le 3600
  metrics.record_exit(sleep, exited(0), 86400 * kSecond);      // le 86400
  metrics.record_exit(sleep, exited(0), 86400 * kSecond + 1);  // +Inf only
  const auto families = execmond::testing::collect_families(metrics);
  const ClientMetric* m = find(families, "execmond_process_duration_seconds", comm("sleep"));
  REQUIRE(m != nullptr);
  const auto& buckets = m->histogram.bucket;
  auto cumulative = [&](double le) {
    for (const auto& b : buckets)
      if (b.upper_bound == le) return b.cumulative_count;
    FAIL("no bucket le=" << le);
    return std::uint64_t{0};
  };
  CHECK(cumulative(0.001) == 2);
  CHECK(cumulative(0.005) == 3);
  CHECK(cumulative(900) == 3);
  CHECK(cumulative(3600) == 4);
  CHECK(cumulative(14400) == 4);
  CHECK(cumulative(86400) == 5);
  CHECK(cumulative(std::numeric_limits<double>::infinity()) == 6);
  CHECK(m->histogram.sample_count == 6);
  CHECK(m->histogram.sample_sum == Approx(0.001 + 0.001 + 3600 + 86400 + 86400));
  check_histograms(families);
}

TEST_CASE("the fourth name over a bound of three folds into execmond_overflow",
          "[process_metrics]") {
  ProcessMetrics metrics(options(3));
  for (const char* name : {"one", "two", "three"}) metrics.record_exec(CommName(name));
  metrics.record_exec(CommName("four"));
  metrics.record_exit(CommName("four"), killed(SIGTERM), kSecond);
  metrics.record_exec(CommName("five"));
  metrics.record_exec_failure(CommName("five"), ENOEXEC);
  metrics.record_exec(CommName("one"));

  const auto families = execmond::testing::collect_families(metrics);
  CHECK(counter(families, "execmond_execs_total", comm("one")) == 2);
  CHECK(find(families, "execmond_execs_total", comm("four")) == nullptr);
  CHECK(counter(families, "execmond_execs_total", comm("execmond_overflow")) == 2);
  CHECK(counter(families, "execmond_exits_total", comm("execmond_overflow")) == 1);
  CHECK(counter(families, "execmond_exits_signaled_total",
                comm("execmond_overflow", "signal", "SIGTERM")) == 1);
  CHECK(counter(families, "execmond_exec_failures_total",
                comm("execmond_overflow", "errno", "ENOEXEC")) == 1);
  CHECK(counter(families, "execmond_comm_overflow_events_total", {}) == 4);
  CHECK(gauge(families, "execmond_comm_series") == 3);
  CHECK(gauge(families, "execmond_comm_series_limit") == 3);
  CHECK(family(families, "execmond_execs_total").metric.size() == 4);
}

TEST_CASE("filters: excluded names are not counted and take no series", "[process_metrics]") {
  SeriesSettings o = options(2);
  o.include_comms = {"web*", "db*"};
  o.exclude_comms = {"web-debug"};
  ProcessMetrics metrics(o);
  for (const char* name : {"bash", "web-debug", "ls", "web-1", "db", "cat"})
    metrics.record_exec(CommName(name));
  const auto families = execmond::testing::collect_families(metrics);
  CHECK(family(families, "execmond_execs_total").metric.size() == 2);
  CHECK(counter(families, "execmond_execs_total", comm("web-1")) == 1);
  CHECK(counter(families, "execmond_execs_total", comm("db")) == 1);
  CHECK(counter(families, "execmond_comm_overflow_events_total", {}) == 0);
}

TEST_CASE("the exposition names counters with _total and escapes comms", "[process_metrics]") {
  ProcessMetrics metrics(options(10));
  metrics.record_exec(CommName("bash"));
  metrics.record_exec(CommName(std::string_view("a\\b\"c\n\x01\xff")));
  metrics.record_exit(CommName("bash"), killed(SIGKILL), kMs);
  const std::string text = exposition(metrics);
  CHECK_THAT(text, Catch::Contains("# TYPE execmond_execs_total counter\n"));
  CHECK_THAT(text, Catch::Contains("execmond_execs_total{comm=\"bash\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("# TYPE execmond_process_duration_seconds histogram\n"));
  CHECK_THAT(text, Catch::Contains(
                       "execmond_process_duration_seconds_bucket{comm=\"bash\",le=\"0.001\"} 1\n"));
  CHECK_THAT(
      text, Catch::Contains("execmond_exits_signaled_total{comm=\"bash\",signal=\"SIGKILL\"} 1\n"));
  // The label value a\\b"c\x0a\x01\xff, escaped once more by the serializer.
  CHECK_THAT(text, Catch::Contains(
                       "execmond_execs_total{comm=\"a\\\\\\\\b\\\"c\\\\x0a\\\\x01\\\\xff\"} 1\n"));
  CHECK_THAT(text, !Catch::Contains("_total_total"));
}

TEST_CASE("promtool accepts the exposition", "[process_metrics][promtool]") {
  // CI installs promtool (Debian package `prometheus`); a missing one is a failure.
  INFO("promtool not found: apt-get install prometheus");
  REQUIRE(std::system("command -v promtool >/dev/null 2>&1") == 0);

  ProcessMetrics metrics(options(300));
  for (int byte = 0; byte < 256; ++byte) {
    const std::string name = "b" + std::string(1, static_cast<char>(byte)) + "\\x41";
    metrics.record_exec(CommName(name));
    metrics.record_exit(CommName(name), byte % 2 ? killed(byte % 65) : exited(byte),
                        static_cast<std::uint64_t>(byte) * kSecond * 400);
    metrics.record_exec_failure(CommName(name), byte - 60);
  }
  for (const char* name : {"", "caf\xc3\xa9", "\xe2\x80\xae-evil", "\xf0\x9f\x98\x80",
                           "15 bytes long!!", "x\"y", "sshd: root"})
    metrics.record_exec(CommName(name));
  for (int i = 0; i < 50; ++i) metrics.record_exec(CommName("overflow-" + std::to_string(i)));

  const std::string text = exposition(metrics);
  REQUIRE_THAT(text, Catch::Contains("comm=\"execmond_overflow\""));
  char path[] = "/tmp/execmond-metrics-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path, std::ios::binary) << text;

  const std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char chunk[4096];
  for (std::size_t n; (n = fread(chunk, 1, sizeof chunk, pipe)) > 0;) output.append(chunk, n);
  const int status = pclose(pipe);
  unlink(path);
  INFO("promtool said: " << output);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(output.empty());
}

TEST_CASE("scrapes during recording see consistent, growing counts", "[process_metrics]") {
  constexpr int kNames = 50;
  constexpr int kEvents = 100000;
  ProcessMetrics metrics(options(40));
  std::vector<CommName> names;
  for (int i = 0; i < kNames; ++i) names.emplace_back("proc-" + std::to_string(i));

  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < kEvents; ++i) {
      const CommName& name = names[i % kNames];
      metrics.record_exec(name);
      metrics.record_exit(name, i % 3 ? exited(i % 2) : killed(SIGKILL),
                          static_cast<std::uint64_t>(i) * 1000);
      if (i % 7 == 0) metrics.record_exec_failure(name, ENOENT);
    }
    done.store(true);
  });

  int scrapes = 0;
  double last_execs = 0;
  while (!done.load() || scrapes < 2) {
    const auto families = execmond::testing::collect_families(metrics);
    prometheus::TextSerializer().Serialize(families);
    check_histograms(families);
    double execs = 0;
    for (const ClientMetric& m : family(families, "execmond_execs_total").metric)
      execs += m.counter.value;
    REQUIRE(execs >= last_execs);
    last_execs = execs;
    ++scrapes;
  }
  writer.join();

  const auto families = execmond::testing::collect_families(metrics);
  double execs = 0;
  for (const ClientMetric& m : family(families, "execmond_execs_total").metric)
    execs += m.counter.value;
  CHECK(execs == kEvents);
  CHECK(counter(families, "execmond_execs_total", comm("proc-0")) == kEvents / kNames);
  CHECK(counter(families, "execmond_execs_total", comm("execmond_overflow")) ==
        kEvents / kNames * 10);
  // Overflowed names: 10 of 50, each event a lookup; failures on every 7th event.
  const int overflow_failures = [&] {
    int n = 0;
    for (int i = 0; i < kEvents; i += 7) n += (i % kNames) >= 40;
    return n;
  }();
  CHECK(counter(families, "execmond_comm_overflow_events_total", {}) ==
        2 * kEvents / kNames * 10 + overflow_failures);
  CHECK(gauge(families, "execmond_comm_series") == 40);
}

TEST_CASE("unit and container labels: one series per combination, bounded, filtered",
          "[process_metrics][units]") {
  SeriesSettings o = options(3);
  o.unit_label = true;
  o.container_label = true;
  o.exclude_units = {"*.scope"};
  ProcessMetrics metrics(o, 10);
  execmond::InternedNames units(10, 1000, "execmond_overflow");
  execmond::InternedNames containers(10, 1000, "execmond_overflow");
  const auto* nginx = units.intern("nginx.service");
  const auto* cron = units.intern("cron.service");
  const auto* scope = units.intern("session.scope");
  const auto* none = containers.intern("");
  const auto* docker = containers.intern("docker:0123456789ab");
  using execmond::SeriesKey;
  metrics.record_exec(SeriesKey(CommName("sh"), nginx, none));
  metrics.record_exit(SeriesKey(CommName("sh"), nginx, none), exited(1), kMs);
  metrics.record_exec(SeriesKey(CommName("sh"), nginx, none));
  metrics.record_exec(SeriesKey(CommName("sh"), cron, docker));
  metrics.record_exec(SeriesKey(CommName("sh"), scope, none));  // excluded by unit
  metrics.record_exec(SeriesKey(CommName("ls"), cron, none));
  metrics.record_exec(SeriesKey(CommName("ls"), nginx, none));  // a fourth: overflow

  const auto labels = [](const char* c, const char* unit, const char* container) {
    return Labels{{"comm", c}, {"unit", unit}, {"container", container}};
  };
  auto families = execmond::testing::collect_families(metrics);
  CHECK(counter(families, "execmond_execs_total", labels("sh", "nginx.service", "")) == 2);
  CHECK(counter(families, "execmond_exits_nonzero_total", labels("sh", "nginx.service", "")) == 1);
  CHECK(counter(families, "execmond_execs_total",
                labels("sh", "cron.service", "docker:0123456789ab")) == 1);
  CHECK(counter(families, "execmond_execs_total", labels("ls", "cron.service", "")) == 1);
  CHECK(find(families, "execmond_execs_total", labels("sh", "session.scope", "")) == nullptr);
  CHECK(counter(families, "execmond_execs_total",
                labels("execmond_overflow", "execmond_overflow", "execmond_overflow")) == 1);
  CHECK(family(families, "execmond_execs_total").metric.size() == 4);
  CHECK(gauge(families, "execmond_comm_series") == 3);

  // A reload: a higher bound, cron excluded. Counters stay; cron's series stop counting.
  o.max_comm_series = 10;
  o.exclude_units = {"cron.service"};
  metrics.apply(o);
  metrics.record_exec(SeriesKey(CommName("sh"), cron, docker));
  metrics.record_exec(SeriesKey(CommName("sh"), scope, none));
  metrics.record_exec(SeriesKey(CommName("ls"), nginx, none));
  families = execmond::testing::collect_families(metrics);
  CHECK(counter(families, "execmond_execs_total",
                labels("sh", "cron.service", "docker:0123456789ab")) == 1);
  CHECK(counter(families, "execmond_execs_total", labels("sh", "session.scope", "")) == 1);
  CHECK(counter(families, "execmond_execs_total", labels("ls", "nginx.service", "")) == 1);
  CHECK(counter(families, "execmond_execs_total", labels("sh", "nginx.service", "")) == 2);
  CHECK(gauge(families, "execmond_comm_series_limit") == 10);
}

TEST_CASE("series_ttl: a full table of idle names makes room for new ones",
          "[process_metrics][ttl]") {
  SeriesSettings o = options(3);
  o.series_ttl = std::chrono::seconds(60);
  ProcessMetrics metrics(o);
  const auto start = ProcessMetrics::Clock::now();
  metrics.maintain(start);
  for (const char* name : {"ci-job-1", "ci-job-2", "ci-job-3"}) {
    metrics.record_exec(CommName(name));
    metrics.record_exit(CommName(name), exited(0), kMs);
  }
  // Full: a new name counts under the overflow series.
  metrics.record_exec(CommName("web"));
  auto families = execmond::testing::collect_families(metrics);
  CHECK(counter(families, "execmond_execs_total", comm("execmond_overflow")) == 1);
  CHECK(counter(families, "execmond_comm_series_expired_total", {}) == 0);

  // A minute later nothing has changed; a second more and the three are idle past it.
  metrics.maintain(start + std::chrono::seconds(30));
  metrics.record_exec(CommName("ci-job-3"));  // seen again: it stays
  metrics.maintain(start + std::chrono::seconds(60));
  CHECK(gauge(execmond::testing::collect_families(metrics), "execmond_comm_series") == 3);
  metrics.maintain(start + std::chrono::seconds(61));
  families = execmond::testing::collect_families(metrics);
  CHECK(gauge(families, "execmond_comm_series") == 1);
  CHECK(counter(families, "execmond_comm_series_expired_total", {}) == 2);
  CHECK(find(families, "execmond_execs_total", comm("ci-job-1")) == nullptr);
  CHECK(find(families, "execmond_process_duration_seconds", comm("ci-job-2")) == nullptr);
  CHECK(counter(families, "execmond_execs_total", comm("ci-job-3")) == 2);

  // New names get series of their own; the overflow series keeps its counts and counts
  // what still does not fit.
  metrics.record_exec(CommName("web"));
  metrics.record_exec(CommName("db"));
  metrics.record_exec(CommName("cache"));
  families = execmond::testing::collect_families(metrics);
  CHECK(counter(families, "execmond_execs_total", comm("web")) == 1);
  CHECK(counter(families, "execmond_execs_total", comm("db")) == 1);
  CHECK(counter(families, "execmond_execs_total", comm("execmond_overflow")) == 2);
  CHECK(counter(families, "execmond_comm_overflow_events_total", {}) == 2);
  CHECK(gauge(families, "execmond_comm_series") == 3);
  // The text says so too, and stays valid.
  CHECK_THAT(exposition(metrics),
             Catch::Contains("execmond_comm_series_expired_total 2\n") &&
                 !Catch::Contains("ci-job-1"));

  // series_ttl: 0 by reload: nothing is removed any more.
  o.series_ttl = std::chrono::seconds(0);
  metrics.apply(o);
  metrics.maintain(start + std::chrono::hours(1000));
  CHECK(gauge(execmond::testing::collect_families(metrics), "execmond_comm_series") == 3);
}

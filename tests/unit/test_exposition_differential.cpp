// SPDX-License-Identifier: Apache-2.0
// The streaming text writer against prometheus-cpp's TextSerializer, which wrote every
// exposition before it: the same state must give the same text, line for line.
//
// Two oracles:
//   1. The same writer calls, built into prometheus-cpp's MetricFamily objects and
//      serialized by TextSerializer: random families, hostile label values (every
//      byte), values of every kind (NaN, infinities, subnormals, huge counts), and
//      each of the daemon's collectors.
//   2. The same events, counted by an independent model of the aggregator and turned
//      into families the way ProcessMetrics::Collect() built them before streaming
//      (families in order, series in the order names came, signals and errnos in slot
//      order, histograms with cumulative buckets): the family structure, not only the
//      formatting, is what it was.
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "binaries/content_metrics.h"
#include "cgroups/interned_names.h"
#include "events/errno_names.h"
#include "events/signal_names.h"
#include "http/endpoint_metrics.h"
#include "http/text_writer.h"
#include "metric_families.h"
#include "metrics/build_info.h"
#include "metrics/comm_label.h"
#include "metrics/duration_buckets.h"
#include "metrics/process_metrics.h"
#include "metrics/reload_status.h"
#include "metrics/unexpected_binary_metrics.h"

namespace execmond {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) result.push_back(line);
  return result;
}

// Line for line; on a difference, the first line that differs.
void check_same_lines(const std::string& ours, const std::string& theirs) {
  const std::vector<std::string> a = lines(ours);
  const std::vector<std::string> b = lines(theirs);
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    INFO("line " << i + 1);
    REQUIRE(a[i] == b[i]);
  }
  REQUIRE(a.size() == b.size());
  REQUIRE(ours == theirs);  // and the final newline
}

std::string serialize(const std::vector<MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

// What execmond's text writer writes for whatever `write` writes.
template <typename Write>
std::string streamed(Write&& write) {
  http::StringSink sink;
  http::TextWriter writer(sink);
  write(writer);
  writer.finish();
  return sink.text;
}

// Writes the same calls into both, for oracle 1.
class BothWriters final : public MetricWriter {
 public:
  BothWriters(MetricWriter& a, MetricWriter& b) : a_(a), b_(b) {}
  void family(std::string_view name, MetricType type, std::string_view help) override {
    a_.family(name, type, help);
    b_.family(name, type, help);
  }
  void sample(const LabelSet& labels, double value) override {
    a_.sample(labels, value);
    b_.sample(labels, value);
  }
  void histogram(const LabelSet& labels, const HistogramSample& histogram) override {
    a_.histogram(labels, histogram);
    b_.histogram(labels, histogram);
  }

 private:
  MetricWriter& a_;
  MetricWriter& b_;
};

// Oracle 1 for one collector (or any sequence of writer calls).
template <typename Write>
void check_against_serializer(Write&& write) {
  testing::FamilyBuilder builder;
  http::StringSink sink;
  http::TextWriter text(sink);
  BothWriters both(text, builder);
  write(both);
  text.finish();
  check_same_lines(sink.text, serialize(builder.families));
}

// A label value of `length` random bytes, any of the 256.
std::string hostile_bytes(std::mt19937_64& random, std::size_t length) {
  std::string value;
  for (std::size_t i = 0; i < length; ++i) value += static_cast<char>(random() & 0xff);
  return value;
}

double any_value(std::mt19937_64& random) {
  switch (random() % 12) {
    case 0:
      return std::numeric_limits<double>::quiet_NaN();
    case 1:
      return std::numeric_limits<double>::infinity();
    case 2:
      return -std::numeric_limits<double>::infinity();
    case 3:
      return std::numeric_limits<double>::denorm_min() * static_cast<double>(random() % 1000);
    case 4:
      return -0.0;
    case 5:  // a count, exact or not as a double
      return static_cast<double>(random());
    case 6:
      return static_cast<double>(random() % 100000);
    case 7:
      return static_cast<double>(random() % 1000) / 7.0;
    case 8:
      return 1e-300 * static_cast<double>(random() % 97);
    case 9:
      return 1e300 * static_cast<double>(random() % 97);
    default: {
      double bits;
      const std::uint64_t raw = random();
      std::memcpy(&bits, &raw, sizeof bits);
      return bits;  // NaNs with payloads and all
    }
  }
}

}  // namespace

TEST_CASE("the text writer writes what prometheus-cpp's serializer writes, for any family",
          "[exposition][differential]") {
  std::mt19937_64 random(20261129);
  const std::string name_chars = "abcdefghijklmnopqrstuvwxyz_:ABCXYZ0123456789";
  for (int round = 0; round < 300; ++round) {
    check_against_serializer([&](MetricWriter& out) {
      const int families = 1 + static_cast<int>(random() % 6);
      std::vector<std::string> keep;  // label texts outlive the calls that pass views
      keep.reserve(10000);
      for (int f = 0; f < families; ++f) {
        std::string name = "m_";
        for (int i = 0; i < 1 + static_cast<int>(random() % 20); ++i)
          name += name_chars[random() % name_chars.size()];
        // Help without `\` or newline: prometheus-cpp writes those raw, the format (and
        // execmond) escapes them; no collector has them (checked below).
        std::string help = hostile_bytes(random, random() % 40);
        for (char& c : help)
          if (c == '\\' || c == '\n') c = '.';
        const auto type = static_cast<MetricType>(random() % 3);
        out.family(name, type, random() % 5 == 0 ? std::string() : help);
        const int samples = static_cast<int>(random() % 8);
        for (int s = 0; s < samples; ++s) {
          LabelSet labels;
          const int count = static_cast<int>(random() % (type == MetricType::kHistogram ? 4 : 5));
          for (int l = 0; l < count; ++l) {
            keep.push_back("l" + std::to_string(l));
            const std::string& label_name = keep.back();
            keep.push_back(hostile_bytes(random, random() % 24));
            labels.add(label_name, keep.back());
          }
          if (type != MetricType::kHistogram) {
            out.sample(labels, any_value(random));
            continue;
          }
          std::vector<double> bounds;
          std::vector<std::uint64_t> cumulative;
          double bound = -1000;
          std::uint64_t total = 0;
          const int buckets = static_cast<int>(random() % 6);
          for (int b = 0; b < buckets; ++b) {
            bound += static_cast<double>(random() % 5000) / 16.0 + 1e-3;
            total += random() % 1000;
            bounds.push_back(bound);
            cumulative.push_back(total);
          }
          if (random() % 2 == 0) {  // with +Inf last, or left for the writer to add
            bounds.push_back(std::numeric_limits<double>::infinity());
            cumulative.push_back(total += random() % 3);
          }
          HistogramSample histogram;
          histogram.count = random() % 3 == 0 ? random() : total;
          histogram.sum = any_value(random);
          histogram.upper_bounds = bounds.data();
          histogram.cumulative_counts = cumulative.data();
          histogram.bucket_count = bounds.size();
          out.histogram(labels, histogram);
        }
      }
    });
  }
}

TEST_CASE(
    "help text: what execmond's collectors say needs no escaping; `\\` and newline are "
    "escaped as the format says",
    "[exposition][differential]") {
  // The one place the writer parts from prometheus-cpp on purpose.
  const std::string text = streamed([](MetricWriter& out) {
    out.family("m", MetricType::kGauge, "a \\ b\nc");
    out.sample({}, 1);
  });
  CHECK(text == "# HELP m a \\\\ b\\nc\n# TYPE m gauge\nm 1\n");
  // Every collector's help text is free of both, so its output is prometheus-cpp's.
  SeriesSettings settings;
  const ProcessMetrics metrics(settings);
  const UnexpectedBinaryMetrics unexpected;
  const http::EndpointMetrics endpoint(512);
  const ReloadStatus reload;
  testing::FamilyBuilder builder;
  for (const Collector* collector :
       std::initializer_list<const Collector*>{&metrics, &unexpected, &endpoint, &reload})
    collector->collect(builder);
  for (const MetricFamily& family : builder.families) {
    INFO(family.name);
    CHECK(family.help.find_first_of("\\\n") == std::string::npos);
  }
}

namespace {

// Oracle 2: the aggregator's state as an independent model keeps it, and the families
// ProcessMetrics::Collect() built from it before exposition streamed.
class LegacyModel {
 public:
  LegacyModel(std::size_t max_series, bool unit, bool container)
      : max_series_(max_series), unit_(unit), container_(container) {}

  void exec(const SeriesKey& key) { series(key).execs += 1; }
  void exit(const SeriesKey& key, ExitStatus status, std::uint64_t lifetime_ns) {
    Series& s = series(key);
    s.exits += 1;
    if (status.signaled())
      s.signals[signal_slot(status.signal)] += 1;
    else if (status.code != 0)
      s.nonzero += 1;
    s.buckets[duration_buckets::bucket_index(lifetime_ns)] += 1;
    s.sum += static_cast<double>(lifetime_ns) * 1e-9;  // as RunningTotal<double> adds
  }
  void failure(const SeriesKey& key, int error) { series(key).errnos[errno_slot(error)] += 1; }

  std::vector<MetricFamily> families(bool with_histogram) const {
    std::vector<MetricFamily> f(10);
    const auto start = [&](std::size_t i, const char* name, prometheus::MetricType type,
                           const char* help) {
      f[i].name = name;
      f[i].type = type;
      f[i].help = help;
    };
    using T = prometheus::MetricType;
    start(0, "execmond_execs_total", T::Counter,
          "Successful execs, by process name after the exec.");
    start(1, "execmond_exits_total", T::Counter, "Process exits, by process name.");
    start(2, "execmond_exits_nonzero_total", T::Counter,
          "Process exits with a non-zero exit code (deaths by signal not included), by process "
          "name.");
    start(3, "execmond_exits_signaled_total", T::Counter,
          "Processes killed by a signal, by process name and signal.");
    start(4, "execmond_process_duration_seconds", T::Histogram,
          "Process lifetimes from exec (or fork, when the exec was not seen) to exit, by "
          "process name.");
    start(5, "execmond_exec_failures_total", T::Counter,
          "Failed execve and execveat calls, by the caller's process name and errno.");
    start(6, "execmond_comm_series", T::Gauge, "Process names that have their own series.");
    start(7, "execmond_comm_series_limit", T::Gauge,
          "Process names that can have their own series (max_comm_series); later names share "
          "comm=\"execmond_overflow\".");
    start(8, "execmond_comm_overflow_events_total", T::Counter,
          "Events counted under comm=\"execmond_overflow\" because max_comm_series names "
          "already had their own series.");
    // The one family added since: removals by series_ttl (none here).
    start(9, "execmond_comm_series_expired_total", T::Counter,
          "Series removed because their labels were not seen for series_ttl; a name that comes "
          "back starts again from zero (a counter reset).");
    const auto add = [&](const Series& s) {
      const auto labelled = [&](std::vector<ClientMetric::Label> extra = {}) {
        ClientMetric m;
        m.label = s.labels;
        m.label.insert(m.label.end(), extra.begin(), extra.end());
        return m;
      };
      ClientMetric m = labelled();
      m.counter.value = static_cast<double>(s.execs);
      f[0].metric.push_back(m);
      m.counter.value = static_cast<double>(s.exits);
      f[1].metric.push_back(m);
      m.counter.value = static_cast<double>(s.nonzero);
      f[2].metric.push_back(m);
      for (std::size_t slot = 0; slot < kSignalSlots; ++slot) {
        if (s.signals[slot] == 0) continue;
        ClientMetric signal = labelled(
            {ClientMetric::Label{"signal", std::string(signal_name(static_cast<int>(slot)))}});
        signal.counter.value = static_cast<double>(s.signals[slot]);
        f[3].metric.push_back(signal);
      }
      ClientMetric h = labelled();
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < duration_buckets::kBucketCount; ++i) {
        cumulative += s.buckets[i];
        ClientMetric::Bucket bucket;
        bucket.cumulative_count = cumulative;
        bucket.upper_bound = i < duration_buckets::kUpperBoundsSeconds.size()
                                 ? duration_buckets::kUpperBoundsSeconds[i]
                                 : std::numeric_limits<double>::infinity();
        h.histogram.bucket.push_back(bucket);
      }
      h.histogram.sample_count = cumulative;
      h.histogram.sample_sum = s.sum;
      if (with_histogram && cumulative > 0) f[4].metric.push_back(h);
      for (std::size_t slot = 0; slot < kErrnoSlots; ++slot) {
        if (s.errnos[slot] == 0) continue;
        ClientMetric failure = labelled(
            {ClientMetric::Label{"errno", std::string(errno_name(static_cast<int>(slot)))}});
        failure.counter.value = static_cast<double>(s.errnos[slot]);
        f[5].metric.push_back(failure);
      }
    };
    for (const Series& s : series_) add(s);
    if (overflow_events_ > 0) add(overflow_);
    f[6].metric.emplace_back();
    f[6].metric.back().gauge.value = static_cast<double>(series_.size());
    f[7].metric.emplace_back();
    f[7].metric.back().gauge.value = static_cast<double>(max_series_);
    f[8].metric.emplace_back();
    f[8].metric.back().counter.value = static_cast<double>(overflow_events_);
    f[9].metric.emplace_back();
    return f;
  }

 private:
  struct Series {
    std::vector<ClientMetric::Label> labels;
    std::uint64_t execs = 0, exits = 0, nonzero = 0;
    std::array<std::uint64_t, kSignalSlots> signals{};
    std::array<std::uint64_t, kErrnoSlots> errnos{};
    std::array<std::uint64_t, duration_buckets::kBucketCount> buckets{};
    double sum = 0;
  };

  std::vector<ClientMetric::Label> labels_of(std::string comm, std::string_view unit,
                                             std::string_view container) const {
    std::vector<ClientMetric::Label> labels{{"comm", std::move(comm)}};
    if (unit_) labels.push_back({"unit", std::string(unit)});
    if (container_) labels.push_back({"container", std::string(container)});
    return labels;
  }

  Series& series(const SeriesKey& key) {
    const std::string id(reinterpret_cast<const char*>(&key), sizeof key);
    if (const auto found = index_.find(id); found != index_.end()) return series_[found->second];
    if (series_.size() == max_series_) {
      ++overflow_events_;
      if (overflow_.labels.empty())
        overflow_.labels = labels_of("execmond_overflow", "execmond_overflow", "execmond_overflow");
      return overflow_;
    }
    index_[id] = series_.size();
    series_.emplace_back();
    series_.back().labels = labels_of(std::string(CommLabel(key.comm).view()),
                                      key.unit ? key.unit->text : std::string_view(),
                                      key.container ? key.container->text : std::string_view());
    return series_.back();
  }

  std::size_t max_series_;
  bool unit_, container_;
  std::map<std::string, std::size_t> index_;
  std::vector<Series> series_;
  Series overflow_;
  std::uint64_t overflow_events_ = 0;
};

ExitStatus exited(int code) {
  return ExitStatus::from_wait_status(static_cast<std::uint32_t>(code & 0xff) << 8);
}
ExitStatus killed(int signal) {
  return ExitStatus::from_wait_status(static_cast<std::uint32_t>(signal & 0x7f));
}

// Names no one would choose: every byte, quotes, backslashes, newlines, escapes that
// look like ours, invalid and invisible UTF-8, the empty name, the overflow's name.
std::vector<CommName> hostile_names(std::mt19937_64& random) {
  std::vector<CommName> names;
  for (int byte = 1; byte < 256; ++byte)
    names.emplace_back("b" + std::string(1, static_cast<char>(byte)) + "\\x41\"");
  for (const char* name : {"", "\\", "\"", "\n", "a\\nb", "x\"}{,=", "caf\xc3\xa9",
                           "\xe2\x80\xae-evil", "\xf0\x9f\x98\x80", "\xff\xfe", "\xc3",
                           "execmond_overflo", "15 bytes long!!", "sshd: root@pts/0"})
    names.emplace_back(std::string_view(name));
  for (int i = 0; i < 200; ++i) {
    std::string bytes;
    for (int b = 0; b < 1 + static_cast<int>(random() % 15); ++b)
      bytes += static_cast<char>(1 + random() % 255);
    names.emplace_back(bytes);
  }
  return names;
}

}  // namespace

TEST_CASE("the same events give the exposition prometheus-cpp gave, line for line",
          "[exposition][differential]") {
  std::mt19937_64 random(42);
  const auto [unit, container] = GENERATE(std::make_pair(false, false), std::make_pair(true, false),
                                          std::make_pair(true, true));
  const bool histogram = GENERATE(true, false);
  CAPTURE(unit, container, histogram);
  SeriesSettings settings;
  settings.max_comm_series = 300;
  settings.unit_label = unit;
  settings.container_label = container;
  settings.lifetime_histogram = histogram;
  ProcessMetrics metrics(settings);
  LegacyModel model(settings.max_comm_series, unit, container);

  InternedNames units(16, 4096, "execmond_overflow");
  InternedNames containers(16, 4096, "execmond_overflow");
  const std::vector<const InternedName*> unit_names = {
      units.intern("nginx.service"), units.intern("-"), units.intern("a\"b\\c\nd.service"),
      units.intern("user-1000.slice")};
  const std::vector<const InternedName*> container_names = {
      containers.intern(""), containers.intern("docker:0123456789ab"),
      containers.intern("podman:\"\\\n")};
  const std::vector<CommName> names = hostile_names(random);

  for (int event = 0; event < 20000; ++event) {
    const CommName& name = names[random() % names.size()];
    const SeriesKey key =
        SeriesKey(name, unit ? unit_names[random() % unit_names.size()] : nullptr,
                  container ? container_names[random() % container_names.size()] : nullptr);
    switch (random() % 4) {
      case 0:
        metrics.record_exec(key);
        model.exec(key);
        break;
      case 1:
      case 2: {
        const ExitStatus status = random() % 3 == 0 ? killed(1 + static_cast<int>(random() % 64))
                                                    : exited(static_cast<int>(random() % 4));
        // Lifetimes from nothing to past a day, many on a bound.
        const std::uint64_t lifetime = random() % 5 == 0
                                           ? duration_buckets::kUpperBoundsNs[random() % 16]
                                           : random() % (std::uint64_t{1} << (random() % 48));
        metrics.record_exit(key, status, lifetime);
        model.exit(key, status, lifetime);
        break;
      }
      default: {
        const int error = static_cast<int>(random() % 140) - 3;  // unknown ones too
        metrics.record_exec_failure(key, error);
        model.failure(key, error);
        break;
      }
    }
  }
  const std::string ours = streamed([&](MetricWriter& out) { metrics.collect(out); });
  REQUIRE_THAT(ours, Catch::Contains("comm=\"execmond_overflow\""));
  check_same_lines(ours, serialize(model.families(histogram)));
  // And the generic oracle agrees on the same collector.
  check_against_serializer([&](MetricWriter& out) { metrics.collect(out); });
}

TEST_CASE("every collector of the daemon writes what the serializer writes",
          "[exposition][differential]") {
  UnexpectedBinaryMetrics unexpected;
  std::mt19937_64 random(7);
  // Past its bound of 1000 (eight users, each within its quarter): the overflow too.
  const char* const reasons[] = {"not_allowed", "unpackaged", "private_mount"};
  for (int i = 0; i < 1200; ++i) {
    std::string path = "/tmp/" + hostile_bytes(random, 1 + random() % 30);
    unexpected.record_exec(path, CommName(hostile_bytes(random, random() % 15)), reasons[i % 3],
                           {static_cast<std::uint32_t>(i % 8), 0});
  }
  unexpected.record_log_suppressed();
  check_against_serializer([&](MetricWriter& out) { unexpected.collect(out); });

  UnexpectedBinaryMetrics with_container(true);  // labels: [comm, unit, container]
  for (int i = 0; i < 50; ++i) {
    const auto series = with_container.series_for(
        "/tmp/" + hostile_bytes(random, 1 + random() % 30),
        CommName(hostile_bytes(random, random() % 15)), "drift", {static_cast<std::uint32_t>(i), 0},
        i % 2 ? "podman:0123456789ab" : "");
    with_container.count(series);
  }
  check_against_serializer([&](MetricWriter& out) { with_container.collect(out); });

  UnexpectedFileInfo files;
  for (int i = 0; i < 20; ++i)
    files.record("/tmp/" + hostile_bytes(random, 1 + random() % 30), std::string(64, 'a' + i % 6));
  check_against_serializer([&](MetricWriter& out) { files.collect(out); });

  http::EndpointMetrics endpoint(512);
  endpoint.count_response(200);
  endpoint.count_response(404);
  endpoint.count_drop(http::EndpointMetrics::Drop::kTimeout);
  endpoint.count_render();
  check_against_serializer([&](MetricWriter& out) { endpoint.collect(out); });

  const BuildInfo build("1.2.3-\"x\"", "1.1");
  check_against_serializer([&](MetricWriter& out) { build.collect(out); });
  ReloadStatus reload;
  reload.record_failure();
  check_against_serializer([&](MetricWriter& out) { reload.collect(out); });
}

}  // namespace execmond

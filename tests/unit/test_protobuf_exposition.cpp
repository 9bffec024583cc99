// The protobuf exposition, decoded field by field with a reader written from the
// protobuf encoding rules (not from the writer), and the native histogram's buckets.
// tests/integration/test_native_histograms.py has a real Prometheus read it.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "http/protobuf_writer.h"
#include "metrics/native_buckets.h"
#include "metrics/process_metrics.h"

namespace execmond {
namespace {

// One decoded field: its number, and either a varint, 8 fixed bytes or a byte string.
struct Field {
  std::uint32_t number = 0;
  int wire_type = 0;
  std::uint64_t varint = 0;
  std::string bytes;

  double as_double() const {
    double value;
    std::memcpy(&value, &varint, sizeof value);
    return value;
  }
  std::int64_t as_sint() const {
    return static_cast<std::int64_t>(varint >> 1) ^ -static_cast<std::int64_t>(varint & 1);
  }
};

std::uint64_t read_varint(std::string_view& in) {
  std::uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    REQUIRE(!in.empty());
    const auto byte = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    value |= std::uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return value;
  }
  FAIL("varint longer than 10 bytes");
  return 0;
}

std::vector<Field> decode(std::string_view in) {
  std::vector<Field> fields;
  while (!in.empty()) {
    const std::uint64_t key = read_varint(in);
    Field field;
    field.number = static_cast<std::uint32_t>(key >> 3);
    field.wire_type = static_cast<int>(key & 7);
    if (field.wire_type == 0) {
      field.varint = read_varint(in);
    } else if (field.wire_type == 1) {
      REQUIRE(in.size() >= 8);
      for (int i = 0; i < 8; ++i)
        field.varint |= std::uint64_t{static_cast<std::uint8_t>(in[i])} << (8 * i);
      in.remove_prefix(8);
    } else {
      REQUIRE(field.wire_type == 2);
      const std::uint64_t length = read_varint(in);
      REQUIRE(length <= in.size());
      field.bytes = std::string(in.substr(0, length));
      in.remove_prefix(length);
    }
    fields.push_back(std::move(field));
  }
  return fields;
}

std::vector<Field> all(const std::vector<Field>& fields, std::uint32_t number) {
  std::vector<Field> found;
  for (const Field& f : fields)
    if (f.number == number) found.push_back(f);
  return found;
}

const Field& one(const std::vector<Field>& fields, std::uint32_t number) {
  const std::vector<Field> found = all(fields, number);
  INFO("field " << number);
  REQUIRE(found.size() == 1);
  for (const Field& f : fields)
    if (f.number == number) return f;
  throw std::logic_error("unreachable");
}

// The delimited stream: each MetricFamily after its length.
std::vector<std::vector<Field>> families_of(std::string_view stream) {
  std::vector<std::vector<Field>> families;
  while (!stream.empty()) {
    const std::uint64_t length = read_varint(stream);
    REQUIRE(length <= stream.size());
    families.push_back(decode(stream.substr(0, length)));
    stream.remove_prefix(length);
  }
  return families;
}

std::string protobuf_of(const Collector& collector) {
  http::StringSink sink;
  http::ProtobufWriter writer(sink);
  collector.collect(writer);
  writer.finish();
  return sink.text;
}

// metrics.proto (io.prometheus.client): MetricFamily name=1 help=2 type=3 metric=4;
// Metric label=1 gauge=2 counter=3 histogram=7; LabelPair name=1 value=2; Histogram
// sample_count=1 sample_sum=2 bucket=3 schema=5 zero_threshold=6 zero_count=7
// positive_span=12 positive_delta=13; Bucket cumulative_count=1 upper_bound=2; BucketSpan
// offset=1 length=2. COUNTER=0 GAUGE=1 HISTOGRAM=4.
const std::vector<Field>* family(const std::vector<std::vector<Field>>& families,
                                 const std::string& name) {
  for (const auto& f : families)
    if (one(f, 1).bytes == name) return &f;
  return nullptr;
}

std::map<std::string, std::string> labels_of(const std::vector<Field>& metric) {
  std::map<std::string, std::string> labels;
  for (const Field& pair : all(metric, 1)) {
    const std::vector<Field> fields = decode(pair.bytes);
    labels[one(fields, 1).bytes] = one(fields, 2).bytes;
  }
  return labels;
}

constexpr std::uint64_t kMs = 1'000'000;

}  // namespace

TEST_CASE("native buckets: a lifetime lands where Prometheus puts it", "[native]") {
  using native_buckets::kFirstIndex;
  using native_buckets::kLastIndex;
  using native_buckets::slot;
  const auto index = [](std::uint64_t ns) {
    const std::size_t s = slot(ns);
    return s == 0 ? std::int64_t{-1000} : kFirstIndex + static_cast<std::int64_t>(s) - 1;
  };
  // Bucket i of schema 1 holds (2^((i-1)/2), 2^(i/2)] seconds; the upper bound is in.
  CHECK(index(1'000'000'000) == 0);  // 1 s: (0.707, 1]
  CHECK(index(1'000'000'001) == 1);  // (1, 1.414]
  CHECK(index(1'414'213'562) == 1);
  CHECK(index(1'414'213'563) == 2);  // (1.414, 2]
  CHECK(index(2'000'000'000) == 2);
  CHECK(index(500'000'000) == -2);        // 0.5 s: (0.354, 0.5]
  CHECK(index(3'600'000'000'000) == 24);  // an hour: 2^11.8, in (2^11.5, 2^12]
  CHECK(index(0) == -1000);               // the zero bucket: up to 2^-17 s
  CHECK(index(7'629) == -1000);           // 7.629 us < 2^-17 s (7.6294 us)
  CHECK(index(7'630) == kFirstIndex);
  CHECK(index(std::uint64_t{1} << 63) == kLastIndex);  // 292 years: the last bucket
  // Every slot is within the array.
  for (std::uint64_t ns = 1; ns < (std::uint64_t{1} << 62); ns = ns * 3 + 1)
    REQUIRE(slot(ns) < native_buckets::kSlots);

  // The hot path reads the double's bits; client_golang's way (frexp, then the first
  // bound not below the fraction) gives the same bucket for every value, on and around
  // every bound.
  const auto reference = [](std::uint64_t ns) -> std::int64_t {
    const double seconds = static_cast<double>(ns) / 1e9;
    if (seconds <= native_buckets::kZeroThreshold) return -1000;
    int exponent = 0;
    const double fraction = std::frexp(seconds, &exponent);
    const int within = fraction <= 0.5 ? 0 : fraction <= 0.7071067811865475 ? 1 : 2;
    return std::min<std::int64_t>(within + (exponent - 1) * 2, kLastIndex);
  };
  std::mt19937_64 random(3);
  for (int i = 0; i < 200000; ++i) {
    const std::uint64_t ns = random() >> (random() % 64);
    REQUIRE(index(ns) == reference(ns));
  }
  for (int k = -34; k <= 58; ++k) {
    const auto bound = static_cast<std::uint64_t>(1e9 * std::pow(2.0, k / 2.0));
    for (std::uint64_t ns = bound > 3 ? bound - 3 : 0; ns <= bound + 3; ++ns)
      REQUIRE(index(ns) == reference(ns));
  }
}

TEST_CASE("the protobuf exposition decodes to the counters and both histograms",
          "[native][protobuf]") {
  SeriesSettings settings;
  settings.unit_label = true;
  ProcessMetrics metrics(settings);
  const SeriesKey sleeper(CommName("sleep\"er"));
  metrics.record_exec(sleeper);
  // 3 lifetimes of 20 ms, 2 of 3 s, 1 of 2 µs (zero bucket).
  for (int i = 0; i < 3; ++i) metrics.record_exit(sleeper, ExitStatus{}, 20 * kMs);
  for (int i = 0; i < 2; ++i) metrics.record_exit(sleeper, ExitStatus{}, 3000 * kMs);
  metrics.record_exit(sleeper, ExitStatus::from_wait_status(9), 2'000);
  metrics.record_exec_failure(CommName("cron"), 2);

  const auto families = families_of(protobuf_of(metrics));
  // Families without samples are left out; the others are there, with their types.
  CHECK(family(families, "execmond_comm_series_expired_total") != nullptr);
  REQUIRE(family(families, "execmond_execs_total") != nullptr);
  const auto& execs = *family(families, "execmond_execs_total");
  CHECK(one(execs, 3).varint == 0);  // COUNTER
  CHECK(one(execs, 2).bytes == "Successful execs, by process name after the exec.");
  const std::vector<Field> execs_metrics = all(execs, 4);
  REQUIRE(execs_metrics.size() == 2);
  const std::vector<Field> first = decode(execs_metrics[0].bytes);
  // The label value as Prometheus shows it: no text-format escaping.
  CHECK(labels_of(first) ==
        std::map<std::string, std::string>{{"comm", "sleep\"er"}, {"unit", ""}});
  CHECK(one(decode(one(first, 3).bytes), 1).as_double() == 1);
  const auto& signaled = *family(families, "execmond_exits_signaled_total");
  CHECK(labels_of(decode(one(signaled, 4).bytes)).at("signal") == "SIGKILL");
  CHECK(one(*family(families, "execmond_comm_series"), 3).varint == 1);  // GAUGE

  const auto& durations = *family(families, "execmond_process_duration_seconds");
  CHECK(one(durations, 3).varint == 4);  // HISTOGRAM
  const std::vector<Field> histogram = decode(one(decode(one(durations, 4).bytes), 7).bytes);
  CHECK(one(histogram, 1).varint == 6);
  CHECK(one(histogram, 2).as_double() == Approx(0.06 + 6 + 2e-6));
  // Classic buckets, cumulative, +Inf left implicit.
  const std::vector<Field> buckets = all(histogram, 3);
  REQUIRE(buckets.size() == 16);
  std::map<double, std::uint64_t> classic;
  for (const Field& b : buckets) {
    const std::vector<Field> fields = decode(b.bytes);
    classic[one(fields, 2).as_double()] = one(fields, 1).varint;
  }
  CHECK(classic.at(0.001) == 1);
  CHECK(classic.at(0.01) == 1);
  CHECK(classic.at(0.05) == 4);
  CHECK(classic.at(1) == 4);
  CHECK(classic.at(5) == 6);
  CHECK(classic.at(86400) == 6);
  // Native: schema 1, the zero bucket, and spans and deltas that give back the counts.
  CHECK(one(histogram, 5).as_sint() == 1);
  CHECK(one(histogram, 6).as_double() == std::ldexp(1.0, -17));
  CHECK(one(histogram, 7).varint == 1);
  std::map<std::int64_t, std::int64_t> native;
  std::int64_t index = 0;
  std::int64_t count = 0;
  const std::vector<Field> deltas = all(histogram, 13);
  std::size_t next_delta = 0;
  bool first_span = true;
  for (const Field& span : all(histogram, 12)) {
    const std::vector<Field> fields = decode(span.bytes);
    const std::int64_t offset = one(fields, 1).as_sint();
    index = first_span ? offset : index + offset;
    first_span = false;
    for (std::uint64_t i = 0; i < one(fields, 2).varint; ++i, ++index) {
      REQUIRE(next_delta < deltas.size());
      count += deltas[next_delta++].as_sint();
      if (count != 0) native[index] = count;
    }
  }
  CHECK(next_delta == deltas.size());
  // 20 ms = 2^-5.6: bucket -11 of (2^-6, 2^-5.5]; 3 s = 2^1.58: bucket 4 of (2^1.5, 2^2].
  CHECK(native == std::map<std::int64_t, std::int64_t>{{-11, 3}, {4, 2}});
}

TEST_CASE("native spans: buckets close together share a span, far ones do not",
          "[native][protobuf]") {
  std::vector<std::uint64_t> counts(40, 0);
  counts[0] = 1;
  counts[1] = 2;
  counts[4] = 3;  // two empty buckets between: the same span
  counts[8] = 4;  // three: a new span
  counts[39] = 5;
  struct One : Collector {
    const std::vector<std::uint64_t>* counts;
    void collect(MetricWriter& out) const override {
      NativeHistogram native;
      native.schema = 3;
      native.zero_threshold = 0.5;
      native.zero_count = 7;
      native.first_index = -20;
      native.counts = counts->data();
      native.size = counts->size();
      HistogramSample h;
      h.count = 3;  // below what the native buckets hold: sample_count takes the larger
      h.native = &native;
      out.family("h", MetricType::kHistogram, "");
      out.histogram({}, h);
    }
  } collector;
  collector.counts = &counts;
  const auto families = families_of(protobuf_of(collector));
  REQUIRE(families.size() == 1);
  CHECK(all(families[0], 2).empty());  // no help, no field
  const std::vector<Field> h = decode(one(decode(one(families[0], 4).bytes), 7).bytes);
  CHECK(one(h, 1).varint == 7 + 1 + 2 + 3 + 4 + 5);
  CHECK(one(h, 5).as_sint() == 3);
  std::vector<std::pair<std::int64_t, std::uint64_t>> spans;
  for (const Field& span : all(h, 12)) {
    const std::vector<Field> fields = decode(span.bytes);
    spans.emplace_back(one(fields, 1).as_sint(), one(fields, 2).varint);
  }
  // [-20, -16) holds 1 2 0 0 3; then 3 empty; [-12] holds 4; then [19] holds 5.
  CHECK(spans == std::vector<std::pair<std::int64_t, std::uint64_t>>{{-20, 5}, {3, 1}, {30, 1}});
  std::vector<std::int64_t> deltas;
  for (const Field& d : all(h, 13)) deltas.push_back(d.as_sint());
  CHECK(deltas == std::vector<std::int64_t>{1, 1, -2, 0, 3, 1, 1});
}

}  // namespace execmond

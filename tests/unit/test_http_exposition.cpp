// SPDX-License-Identifier: Apache-2.0
// The exposition a scrape reads: rendered once per single-flight cycle in the formats
// asked for, held gzip-compressed, read by each connection through its own cursor.
#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "http/exposition.h"
#include "http/exposition_renderer.h"
#include "http/gzip_stream.h"

namespace execmond::http {
namespace {

using namespace std::chrono_literals;

// A collector that holds each collect() until released, and counts them.
class HeldCollector : public Collector {
 public:
  void collect(MetricWriter& out) const override {
    std::unique_lock lock(mutex_);
    ++collects_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return released_; });
    write_single_sample(out, "test_value", MetricType::kGauge, "h", collects_);
  }
  void wait_for_collects(int count) const {
    std::unique_lock lock(mutex_);
    REQUIRE(changed_.wait_for(lock, 10s, [&] { return collects_ >= count; }));
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  int collects() const {
    std::lock_guard lock(mutex_);
    return collects_;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  mutable int collects_ = 0;
  bool released_ = false;
};

// Many lines, some of them alike: a body of `lines` samples.
class ManyLines : public Collector {
 public:
  explicit ManyLines(int lines) : lines_(lines) {}
  void collect(MetricWriter& out) const override {
    out.family("many_total", MetricType::kCounter, "Lines.");
    for (int i = 0; i < lines_; ++i) {
      const std::string name = "n" + std::to_string(i * 7919 % 100003);
      out.sample({{"comm", name}}, i);
    }
  }

 private:
  int lines_;
};

std::string gunzip(std::string_view data) {
  z_stream stream{};
  REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
  std::string out;
  char chunk[1 << 16];
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof chunk;
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - stream.avail_out);
  }
  REQUIRE(result == Z_STREAM_END);
  inflateEnd(&stream);
  return out;
}

// A whole body, read through a cursor `step` bytes at a time.
std::string read_all(const std::shared_ptr<const Exposition>& exposition, ExpositionFormat format,
                     bool gzip, std::size_t step) {
  ExpositionCursor cursor(exposition, format, gzip);
  std::string body;
  while (!cursor.done()) {
    const std::string_view next = cursor.peek(step);
    REQUIRE(!next.empty());
    // Without gzip, never more than the inflating window.
    REQUIRE(next.size() <= (gzip ? step : std::min(step, ExpositionCursor::kWindow)));
    // Peeking again without consuming gives the same bytes.
    REQUIRE(cursor.peek(step) == next);
    body.append(next);
    cursor.consume(next.size());
  }
  CHECK(body.size() == cursor.size());
  CHECK(cursor.peek().empty());
  return body;
}

FormatSet both() {
  FormatSet formats(ExpositionFormat::kText);
  formats.add(ExpositionFormat::kProtobuf);
  return formats;
}

}  // namespace

TEST_CASE("scrapes that arrive during a render share it if it makes their format", "[exposition]") {
  std::mutex mutex;
  std::condition_variable rendered;
  int renders = 0;
  ExpositionRenderer renderer(
      [&] {
        std::lock_guard lock(mutex);
        ++renders;
        rendered.notify_all();
      },
      nullptr);
  const auto held = std::make_shared<HeldCollector>();
  renderer.add(held);

  CHECK(renderer.request(ExpositionFormat::kText) == 1);
  held->wait_for_collects(1);  // the render is under way, text only
  for (int i = 0; i < 50; ++i) CHECK(renderer.request(ExpositionFormat::kText) == 1);
  // Protobuf is not in the running render: the next one.
  CHECK(renderer.request(ExpositionFormat::kProtobuf) == 2);
  CHECK(renderer.request(ExpositionFormat::kProtobuf) == 2);
  held->release();
  {
    std::unique_lock lock(mutex);
    REQUIRE(rendered.wait_for(lock, 10s, [&] { return renders == 2; }));
  }
  CHECK(held->collects() == 2);
  const auto exposition = renderer.latest();
  REQUIRE(exposition);
  CHECK(exposition->cycle() == 2);
  CHECK(exposition->has(ExpositionFormat::kProtobuf));
  CHECK_FALSE(exposition->has(ExpositionFormat::kText));
  CHECK(read_all(exposition, ExpositionFormat::kProtobuf, false, 1 << 20).find("test_value") !=
        std::string::npos);

  // Once it is done, the next scrape starts a fresh render.
  CHECK(renderer.request(ExpositionFormat::kText) == 3);
  {
    std::unique_lock lock(mutex);
    REQUIRE(rendered.wait_for(lock, 10s, [&] { return renders == 3; }));
  }
  CHECK(read_all(renderer.latest(), ExpositionFormat::kText, false, 1 << 20) ==
        "# HELP test_value h\n# TYPE test_value gauge\ntest_value 3\n");
  renderer.release(3);
  CHECK_FALSE(renderer.latest());
}

TEST_CASE("a collector that throws gives a failed exposition, not a dead renderer",
          "[exposition]") {
  struct Throwing : Collector {
    void collect(MetricWriter&) const override { throw std::runtime_error("kernel said no"); }
  };
  std::mutex mutex;
  std::condition_variable rendered;
  int renders = 0;
  ExpositionRenderer renderer(
      [&] {
        std::lock_guard lock(mutex);
        ++renders;
        rendered.notify_all();
      },
      nullptr);
  const auto throwing = std::make_shared<Throwing>();
  renderer.add(throwing);
  renderer.request(ExpositionFormat::kText);
  {
    std::unique_lock lock(mutex);
    REQUIRE(rendered.wait_for(lock, 10s, [&] { return renders == 1; }));
  }
  CHECK(renderer.latest()->failed());
  renderer.remove(throwing);
  renderer.add(std::make_shared<ManyLines>(3));
  renderer.request(ExpositionFormat::kText);
  {
    std::unique_lock lock(mutex);
    REQUIRE(rendered.wait_for(lock, 10s, [&] { return renders == 2; }));
  }
  CHECK_FALSE(renderer.latest()->failed());
}

TEST_CASE("the exposition is held compressed and read back whole, in any steps", "[exposition]") {
  const std::vector<std::shared_ptr<const Collector>> collectors = {
      std::make_shared<ManyLines>(200'000)};
  const auto exposition = render_exposition(7, collectors, both());
  REQUIRE(exposition->cycle() == 7);
  const Exposition::Body& text = exposition->body(ExpositionFormat::kText);
  // About 6 MB of text (of names less alike than real ones), stored in a fraction of that.
  CHECK(text.plain_size > 4'000'000);
  CHECK(text.gzip.size() * 3 < text.plain_size);
  CHECK(exposition->stored_bytes() < text.plain_size);

  // gzip: the stored member itself; identity: what it inflates to.
  const std::string zipped = read_all(exposition, ExpositionFormat::kText, true, 1 << 30);
  CHECK(zipped == text.gzip);
  const std::string plain = gunzip(zipped);
  CHECK(plain.size() == text.plain_size);
  CHECK(plain.rfind("# HELP many_total Lines.\n# TYPE many_total counter\n", 0) == 0);
  CHECK(plain.find("many_total{comm=\"n7919\"} 1\n") != std::string::npos);
  for (const std::size_t step : {std::size_t{1} << 30, std::size_t{4096}, std::size_t{1000}}) {
    INFO("step " << step);
    CHECK(read_all(exposition, ExpositionFormat::kText, false, step) == plain);
  }
  // read() copies the same bytes into the caller's buffer.
  ExpositionCursor cursor(exposition, ExpositionFormat::kText, false);
  std::string copied;
  char buffer[777];
  for (std::size_t n; (n = cursor.read(buffer, sizeof buffer)) > 0;) copied.append(buffer, n);
  CHECK(copied == plain);

  // The protobuf body was made in the same pass.
  const std::string protobuf = read_all(exposition, ExpositionFormat::kProtobuf, false, 1 << 30);
  CHECK(protobuf.size() == exposition->body(ExpositionFormat::kProtobuf).plain_size);
  CHECK(protobuf.find("n7919") != std::string::npos);
}

TEST_CASE("a small piece at a time, gzip_compress and GzipStream agree on what inflates",
          "[exposition]") {
  GzipStream stream;
  std::string text;
  for (int i = 0; i < 10000; ++i) {
    const std::string piece = "line " + std::to_string(i) + "\n";
    stream.write(piece);
    text += piece;
  }
  CHECK(stream.plain_size() == text.size());
  CHECK(gunzip(stream.finish()) == text);
  CHECK(gunzip(gzip_compress(text)) == text);
  CHECK(gunzip(gzip_compress("")).empty());
}

TEST_CASE("Accept decides the format: protobuf only when ranked above text", "[exposition]") {
  using F = ExpositionFormat;
  // Prometheus 2.42 with --enable-feature=native-histograms.
  CHECK(negotiate_format("application/vnd.google.protobuf;proto=io.prometheus.client."
                         "MetricFamily;encoding=delimited,application/openmetrics-text;version="
                         "1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/"
                         "plain;version=0.0.4;q=0.5,*/*;q=0.1") == F::kProtobuf);
  // Prometheus without it: OpenMetrics first, which execmond does not serve, then text.
  CHECK(negotiate_format("application/openmetrics-text;version=1.0.0,application/"
                         "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
                         "*/*;q=0.1") == F::kText);
  CHECK(negotiate_format("") == F::kText);
  CHECK(negotiate_format("*/*") == F::kText);
  CHECK(negotiate_format("text/plain") == F::kText);
  CHECK(negotiate_format("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;"
                         " encoding=delimited") == F::kProtobuf);
  CHECK(negotiate_format("Application/Vnd.Google.Protobuf;proto=\"io.prometheus.client."
                         "MetricFamily\";encoding=delimited;Q=0.9, text/plain;q=0.8") ==
        F::kProtobuf);
  // Refused, not wanted more, or another message or encoding.
  CHECK(negotiate_format("application/vnd.google.protobuf;proto=io.prometheus.client."
                         "MetricFamily;encoding=delimited;q=0") == F::kText);
  CHECK(negotiate_format("application/vnd.google.protobuf;proto=io.prometheus.client."
                         "MetricFamily;encoding=delimited;q=0.5,text/plain;q=0.5") == F::kText);
  CHECK(negotiate_format("application/vnd.google.protobuf;proto=io.prometheus.client."
                         "MetricFamily;encoding=text") == F::kText);
  CHECK(negotiate_format("application/vnd.google.protobuf;proto=other.Message;"
                         "encoding=delimited") == F::kText);
  // A weight that is not one is ignored with its media range.
  CHECK(negotiate_format("application/vnd.google.protobuf;proto=io.prometheus.client."
                         "MetricFamily;encoding=delimited;q=2") == F::kText);
  CHECK(negotiate_format("application/vnd.google.protobuf;proto=io.prometheus.client."
                         "MetricFamily;encoding=delimited;q=0.5x") == F::kText);
  CHECK(negotiate_format(",,;;=,q=1") == F::kText);
  CHECK(content_type(F::kText) == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(content_type(F::kProtobuf) ==
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
        "encoding=delimited");
}

}  // namespace execmond::http

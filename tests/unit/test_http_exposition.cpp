#include <prometheus/metric_family.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "http/exposition_renderer.h"

namespace execmond::http {
namespace {

using namespace std::chrono_literals;

// A collectable that holds each Collect() until released, and counts them.
class HeldCollectable : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::unique_lock lock(mutex_);
    ++collects_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return released_; });
    prometheus::MetricFamily family;
    family.name = "test_value";
    family.help = "h";
    family.type = prometheus::MetricType::Gauge;
    family.metric.emplace_back();
    family.metric.back().gauge.value = collects_;
    return {family};
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

std::string gunzip(const std::string& data) {
  z_stream stream{};
  REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
  std::string out(1 << 16, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  REQUIRE(inflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

TEST_CASE("scrapes that arrive during a render share it, and its one gzip") {
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
  const auto held = std::make_shared<HeldCollectable>();
  renderer.add(held);

  CHECK(renderer.request(false) == 1);
  held->wait_for_collects(1);  // the render is under way
  for (int i = 0; i < 50; ++i) CHECK(renderer.request(i % 2 == 0) == 1);
  held->release();
  {
    std::unique_lock lock(mutex);
    REQUIRE(rendered.wait_for(lock, 10s, [&] { return renders == 1; }));
  }
  const auto exposition = renderer.latest();
  REQUIRE(exposition);
  CHECK(exposition->cycle == 1);
  CHECK(held->collects() == 1);
  CHECK(exposition->text.find("test_value 1") != std::string::npos);
  REQUIRE(exposition->has_gzip);
  CHECK(gunzip(exposition->gzip) == exposition->text);

  // Once it is done, the next scrape starts a fresh render.
  CHECK(renderer.request(false) == 2);
  {
    std::unique_lock lock(mutex);
    REQUIRE(rendered.wait_for(lock, 10s, [&] { return renders == 2; }));
  }
  CHECK(renderer.latest()->text.find("test_value 2") != std::string::npos);
  CHECK_FALSE(renderer.latest()->has_gzip);
  renderer.release(2);
  CHECK_FALSE(renderer.latest());
}

}  // namespace
}  // namespace execmond::http

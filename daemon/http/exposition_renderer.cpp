#include "http/exposition_renderer.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace execmond::http {

std::string gzip_compress(const std::string& text) {
  z_stream stream{};
  // 15 + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("zlib: deflateInit2 failed");
  }
  std::string compressed(deflateBound(&stream, text.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(compressed.data());
  stream.avail_out = static_cast<uInt>(compressed.size());
  const int result = deflate(&stream, Z_FINISH);
  compressed.resize(stream.total_out);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) throw std::runtime_error("zlib: deflate did not finish");
  return compressed;
}

ExpositionRenderer::ExpositionRenderer(std::function<void()> on_rendered,
                                       std::shared_ptr<prometheus::Collectable> last)
    : last_(std::move(last)), on_rendered_(std::move(on_rendered)), thread_([this] { run(); }) {}

ExpositionRenderer::~ExpositionRenderer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ExpositionRenderer::add(std::shared_ptr<prometheus::Collectable> collectable) {
  std::lock_guard lock(collectables_mutex_);
  collectables_.push_back(std::move(collectable));
}

void ExpositionRenderer::remove(const std::shared_ptr<prometheus::Collectable>& collectable) {
  std::lock_guard lock(collectables_mutex_);
  collectables_.erase(std::remove(collectables_.begin(), collectables_.end(), collectable),
                      collectables_.end());
}

std::uint64_t ExpositionRenderer::request(bool gzip) {
  std::lock_guard lock(mutex_);
  // Join the render in progress, unless it wants gzip and that render has already settled
  // on not compressing.
  if (running_ && !(gzip && gzip_decided_ && !gzip_wanted_)) {
    if (gzip) gzip_wanted_ = true;
    return running_cycle_;
  }
  next_requested_ = true;
  next_gzip_ = next_gzip_ || gzip;
  wake_.notify_one();
  return running_cycle_ + 1;
}

std::shared_ptr<const Exposition> ExpositionRenderer::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void ExpositionRenderer::release(std::uint64_t cycle) {
  std::lock_guard lock(mutex_);
  if (latest_ && latest_->cycle == cycle) latest_.reset();
}

std::string ExpositionRenderer::render() {
  std::vector<prometheus::MetricFamily> families;
  {
    std::lock_guard lock(collectables_mutex_);
    for (const auto& collectable : collectables_) {
      auto collected = collectable->Collect();
      std::move(collected.begin(), collected.end(), std::back_inserter(families));
    }
    if (last_) {
      auto collected = last_->Collect();
      std::move(collected.begin(), collected.end(), std::back_inserter(families));
    }
  }
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, families);
  return std::move(text).str();
}

void ExpositionRenderer::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || next_requested_; });
    if (stopping_) return;
    auto exposition = std::make_shared<Exposition>();
    exposition->cycle = ++running_cycle_;
    running_ = true;
    gzip_wanted_ = next_gzip_;
    gzip_decided_ = false;
    next_requested_ = false;
    next_gzip_ = false;
    lock.unlock();

    try {
      exposition->text = render();
      lock.lock();
      gzip_decided_ = true;
      const bool gzip = gzip_wanted_;
      lock.unlock();
      if (gzip) {
        exposition->gzip = gzip_compress(exposition->text);
        exposition->has_gzip = true;
      }
    } catch (const std::exception& error) {
      // Still published: the scrapes waiting for it must get an answer.
      spdlog::error("rendering /metrics failed: {}", error.what());
      exposition->failed = true;
    }

    lock.lock();
    latest_ = std::move(exposition);
    running_ = false;
    lock.unlock();
    on_rendered_();
    lock.lock();
  }
}

}  // namespace execmond::http

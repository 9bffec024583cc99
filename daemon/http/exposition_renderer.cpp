#include "http/exposition_renderer.h"

#include <spdlog/spdlog.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <array>
#include <optional>

#include "http/gzip_stream.h"
#include "http/protobuf_writer.h"
#include "http/text_writer.h"

namespace execmond::http {
namespace {

// Hands every call to both formats' writers: one read of the counters feeds both.
class BothFormats final : public MetricWriter {
 public:
  BothFormats(MetricWriter& text, MetricWriter& protobuf) : text_(text), protobuf_(protobuf) {}
  void family(std::string_view name, MetricType type, std::string_view help) override {
    text_.family(name, type, help);
    protobuf_.family(name, type, help);
  }
  void sample(const LabelSet& labels, double value) override {
    text_.sample(labels, value);
    protobuf_.sample(labels, value);
  }
  void histogram(const LabelSet& labels, const HistogramSample& histogram) override {
    text_.histogram(labels, histogram);
    protobuf_.histogram(labels, histogram);
  }

 private:
  MetricWriter& text_;
  MetricWriter& protobuf_;
};

Exposition::Body finished(GzipStream& stream) {
  Exposition::Body body;
  body.rendered = true;
  body.plain_size = stream.plain_size();
  body.gzip = stream.finish();
  return body;
}

}  // namespace

std::shared_ptr<const Exposition> render_exposition(
    std::uint64_t cycle, const std::vector<std::shared_ptr<const Collector>>& collectors,
    FormatSet formats) {
  std::optional<GzipStream> text_stream;
  std::optional<GzipStream> protobuf_stream;
  std::optional<TextWriter> text;
  std::optional<ProtobufWriter> protobuf;
  std::optional<BothFormats> both;
  MetricWriter* out = nullptr;
  if (formats.has(ExpositionFormat::kText)) out = &text.emplace(text_stream.emplace());
  if (formats.has(ExpositionFormat::kProtobuf)) out = &protobuf.emplace(protobuf_stream.emplace());
  if (text && protobuf) out = &both.emplace(*text, *protobuf);
  if (out == nullptr) return std::make_shared<const Exposition>(cycle, false);

  for (const auto& collector : collectors) collector->collect(*out);

  std::array<Exposition::Body, kExpositionFormats> bodies{};
  if (text) {
    text->finish();
    bodies[static_cast<std::size_t>(ExpositionFormat::kText)] = finished(*text_stream);
  }
  if (protobuf) {
    protobuf->finish();
    bodies[static_cast<std::size_t>(ExpositionFormat::kProtobuf)] = finished(*protobuf_stream);
  }
  return std::make_shared<const Exposition>(cycle, std::move(bodies));
}

ExpositionRenderer::ExpositionRenderer(std::function<void()> on_rendered,
                                       std::shared_ptr<const Collector> last)
    : last_(std::move(last)), on_rendered_(std::move(on_rendered)), thread_([this] { run(); }) {}

ExpositionRenderer::~ExpositionRenderer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ExpositionRenderer::add(std::shared_ptr<const Collector> collector) {
  std::lock_guard lock(collectors_mutex_);
  collectors_.push_back(std::move(collector));
}

void ExpositionRenderer::remove(const std::shared_ptr<const Collector>& collector) {
  std::lock_guard lock(collectors_mutex_);
  collectors_.erase(std::remove(collectors_.begin(), collectors_.end(), collector),
                    collectors_.end());
}

std::uint64_t ExpositionRenderer::request(ExpositionFormat format) {
  std::lock_guard lock(mutex_);
  if (running_ && running_formats_.has(format)) return running_cycle_;
  next_formats_.add(format);
  wake_.notify_one();
  return running_cycle_ + 1;
}

std::shared_ptr<const Exposition> ExpositionRenderer::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void ExpositionRenderer::release(std::uint64_t cycle) {
  std::lock_guard lock(mutex_);
  if (latest_ && latest_->cycle() == cycle) latest_.reset();
}

std::shared_ptr<const Exposition> ExpositionRenderer::render(std::uint64_t cycle,
                                                             FormatSet formats) {
  std::lock_guard lock(collectors_mutex_);
  if (!last_) return render_exposition(cycle, collectors_, formats);
  std::vector<std::shared_ptr<const Collector>> all = collectors_;
  all.push_back(last_);
  return render_exposition(cycle, all, formats);
}

void ExpositionRenderer::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !next_formats_.empty(); });
    if (stopping_) return;
    const std::uint64_t cycle = ++running_cycle_;
    running_ = true;
    running_formats_ = next_formats_;
    next_formats_ = FormatSet();
    const FormatSet formats = running_formats_;
    lock.unlock();

    std::shared_ptr<const Exposition> exposition;
    try {
      exposition = render(cycle, formats);
    } catch (const std::exception& error) {
      // Still published: the scrapes waiting for it must get an answer.
      spdlog::error("rendering /metrics failed: {}", error.what());
      exposition = std::make_shared<const Exposition>(cycle, true);
    }

    lock.lock();
    latest_ = std::move(exposition);
    running_ = false;
    lock.unlock();
    on_rendered_();
#ifdef __GLIBC__
    // The render's buffers (the largest protobuf family: megabytes at 10,000 names) were
    // freed into this thread's malloc arena, which glibc keeps; give them back, so that
    // the daemon's resident size between scrapes is what it holds, not what it once held.
    malloc_trim(0);
#endif
    lock.lock();
  }
}

}  // namespace execmond::http

// Renders the exposition off the event loop, once for every scrape that arrives while a
// render runs (single flight). A scrape joins the render in progress when there is one and
// gets its bytes; otherwise it starts the next. So a response is never older than its
// request by more than the duration of one render, and 200 parallel scrapes cost one
// render, one gzip.
#pragma once

#include <prometheus/collectable.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace execmond::http {

struct Exposition {
  std::uint64_t cycle = 0;
  std::string text;
  // Compressed when a scrape of this cycle asked for gzip; else empty.
  std::string gzip;
  bool has_gzip = false;
  bool failed = false;  // a collector threw: answered with 500
};

class ExpositionRenderer {
 public:
  // `on_rendered` is called from the rendering thread after each render: wake the loop.
  // `last` is rendered after every added collectable (the endpoint's own metrics).
  ExpositionRenderer(std::function<void()> on_rendered,
                     std::shared_ptr<prometheus::Collectable> last);
  ~ExpositionRenderer();
  ExpositionRenderer(const ExpositionRenderer&) = delete;
  ExpositionRenderer& operator=(const ExpositionRenderer&) = delete;

  void add(std::shared_ptr<prometheus::Collectable> collectable);
  // Returns once no render is reading `collectable` any more.
  void remove(const std::shared_ptr<prometheus::Collectable>& collectable);

  // A scrape arrived. Returns the cycle whose exposition answers it.
  std::uint64_t request(bool gzip);
  // The newest finished exposition; null before the first.
  std::shared_ptr<const Exposition> latest() const;
  // Every scrape of `cycle` was served: let its exposition go unless a newer one came.
  void release(std::uint64_t cycle);

 private:
  void run();
  std::string render();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool next_requested_ = false;
  bool next_gzip_ = false;
  bool running_ = false;
  std::uint64_t running_cycle_ = 0;  // the last cycle started
  bool gzip_wanted_ = false;         // by a scrape of the running cycle
  bool gzip_decided_ = false;        // whether the running cycle compresses is settled
  std::shared_ptr<const Exposition> latest_;

  std::mutex collectables_mutex_;  // held while collecting
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::shared_ptr<prometheus::Collectable> last_;

  std::function<void()> on_rendered_;
  std::thread thread_;
};

// gzip (RFC 1952) of `text`, at zlib's fastest level: the exposition is repetitive enough
// that the fastest level gets most of the gain.
std::string gzip_compress(const std::string& text);

}  // namespace execmond::http

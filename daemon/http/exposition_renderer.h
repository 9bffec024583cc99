// Renders the exposition off the event loop, once for every scrape that arrives while a
// render runs (single flight). A scrape joins the render in progress when that render
// makes its format and gets its bytes; otherwise it starts the next. So a response is
// never older than its request by more than the duration of one render, and 200
// parallel scrapes cost one render.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "http/exposition.h"
#include "metrics/metric_writer.h"

namespace execmond::http {

// Which formats a render makes.
class FormatSet {
 public:
  FormatSet() = default;
  explicit FormatSet(ExpositionFormat format) { add(format); }
  void add(ExpositionFormat format) { bits_ |= bit(format); }
  bool has(ExpositionFormat format) const { return (bits_ & bit(format)) != 0; }
  bool empty() const { return bits_ == 0; }

 private:
  static unsigned bit(ExpositionFormat format) { return 1u << static_cast<unsigned>(format); }
  unsigned bits_ = 0;
};

// One pass over `collectors` written in every format of `formats`, each gzip-compressed
// as it is written. An exception from a collector propagates.
std::shared_ptr<const Exposition> render_exposition(
    std::uint64_t cycle, const std::vector<std::shared_ptr<const Collector>>& collectors,
    FormatSet formats);

class ExpositionRenderer {
 public:
  // `on_rendered` is called from the rendering thread after each render: wake the loop.
  // `last` is rendered after every added collector (the endpoint's own metrics).
  ExpositionRenderer(std::function<void()> on_rendered, std::shared_ptr<const Collector> last);
  ~ExpositionRenderer();
  ExpositionRenderer(const ExpositionRenderer&) = delete;
  ExpositionRenderer& operator=(const ExpositionRenderer&) = delete;

  void add(std::shared_ptr<const Collector> collector);
  // Returns once no render is reading `collector` any more.
  void remove(const std::shared_ptr<const Collector>& collector);

  // A scrape arrived. Returns the cycle whose exposition answers it.
  std::uint64_t request(ExpositionFormat format);
  // The newest finished exposition; null before the first. It may be newer than the
  // cycle a scrape waits for, and then may lack its format: request() again.
  std::shared_ptr<const Exposition> latest() const;
  // Every scrape of `cycle` holds what it sends: let it go unless a newer one came.
  void release(std::uint64_t cycle);

 private:
  void run();
  std::shared_ptr<const Exposition> render(std::uint64_t cycle, FormatSet formats);

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool running_ = false;
  std::uint64_t running_cycle_ = 0;  // the last cycle started
  FormatSet running_formats_;        // what it makes
  FormatSet next_formats_;           // what the next one must make; empty: none asked
  std::shared_ptr<const Exposition> latest_;

  std::mutex collectors_mutex_;  // held while collecting
  std::vector<std::shared_ptr<const Collector>> collectors_;
  std::shared_ptr<const Collector> last_;

  std::function<void()> on_rendered_;
  std::thread thread_;
};

}  // namespace execmond::http

// One rendered exposition, shared by every scrape it answers, and the cursor through
// which a connection reads its response body out of it a bounded number of bytes at a
// time. The exposition is held only gzip-compressed (0.75 MB for the 15 MB of text at
// 10,000 names): a gzip scrape sends those bytes as they are, a plain one inflates them
// as it sends, so no scrape puts the whole text in memory.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace execmond::http {

enum class ExpositionFormat : std::uint8_t {
  kText,      // text/plain; version=0.0.4: what every Prometheus scrapes by default
  kProtobuf,  // delimited io.prometheus.client.MetricFamily: native histograms
};
inline constexpr std::size_t kExpositionFormats = 2;

// The Content-Type of a response in `format`.
std::string_view content_type(ExpositionFormat format);

// The format an Accept header asks for: protobuf when it ranks
// application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited
// above text/plain (Prometheus with native histograms on sends q=0.7 against 0.5), text
// otherwise: for no Accept, */*, OpenMetrics (not served), or anything unparsable.
ExpositionFormat negotiate_format(std::string_view accept);

// What one render produced. Immutable once the renderer publishes it.
class Exposition {
 public:
  struct Body {
    bool rendered = false;
    std::string gzip;            // one gzip member (RFC 1952)
    std::size_t plain_size = 0;  // the size of what it inflates to
  };

  Exposition(std::uint64_t cycle, bool failed) : cycle_(cycle), failed_(failed) {}
  Exposition(std::uint64_t cycle, std::array<Body, kExpositionFormats> bodies)
      : cycle_(cycle), bodies_(std::move(bodies)) {}

  std::uint64_t cycle() const { return cycle_; }
  // A collector threw: the scrapes of this cycle are answered with 500.
  bool failed() const { return failed_; }
  bool has(ExpositionFormat format) const { return body(format).rendered; }
  const Body& body(ExpositionFormat format) const {
    return bodies_[static_cast<std::size_t>(format)];
  }
  // Memory it holds: what a scrape costs while connections send it.
  std::size_t stored_bytes() const;

 private:
  std::uint64_t cycle_;
  bool failed_ = false;
  std::array<Body, kExpositionFormats> bodies_{};
};

// The body of one response, read out of a shared exposition. Holds its exposition alive.
// With gzip the bytes are the stored ones (no copy); without, they are inflated into a
// 16 KiB window allocated at the first peek(), so a plain scrape costs about 60 KiB
// (zlib's state included) however large the exposition.
//
// A connection sends like this, never holding more than the window:
//   while (!cursor.done()) {
//     std::string_view next = cursor.peek();
//     ssize_t sent = send(fd, next.data(), next.size(), ...);  // or SSL_write
//     if (sent <= 0) break;  // wait for EPOLLOUT; peek() returns the same bytes again
//     cursor.consume(sent);
//   }
class ExpositionCursor {
 public:
  static constexpr std::size_t kWindow = 16 * 1024;

  // `exposition` has `format` (Exposition::has).
  ExpositionCursor(std::shared_ptr<const Exposition> exposition, ExpositionFormat format,
                   bool gzip);
  ~ExpositionCursor();
  ExpositionCursor(const ExpositionCursor&) = delete;
  ExpositionCursor& operator=(const ExpositionCursor&) = delete;

  // The body's length: Content-Length.
  std::size_t size() const { return size_; }
  std::size_t sent() const { return consumed_; }
  bool done() const { return consumed_ == size_; }

  // The next bytes of the body, at most `max`, at least one unless done(). Stays valid,
  // and is returned again, until consume(). Throws std::runtime_error if the stored
  // bytes do not inflate (a bug, never the client's doing).
  std::string_view peek(std::size_t max = SIZE_MAX);
  // `count` <= peek().size() bytes were sent.
  void consume(std::size_t count);
  // peek(), copied into `buffer`, and consumed: for a writer that needs its own buffer.
  std::size_t read(char* buffer, std::size_t capacity);

 private:
  struct Inflater;

  std::shared_ptr<const Exposition> exposition_;
  std::string_view stored_;  // the gzip member
  bool gzip_;
  std::size_t size_;
  std::size_t consumed_ = 0;
  std::unique_ptr<Inflater> inflater_;  // without gzip, from the first peek() to done()
};

}  // namespace execmond::http

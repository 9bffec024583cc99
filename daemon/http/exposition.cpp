#include "http/exposition.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>
#include <stdexcept>

namespace execmond::http {
namespace {

constexpr std::string_view kTextType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kProtobufType =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
    "encoding=delimited";

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// An RFC 9110 weight: "0", "0.7", "1", "1.000"; nullopt for anything else.
std::optional<double> parse_weight(std::string_view text) {
  if (text.empty() || (text[0] != '0' && text[0] != '1')) return std::nullopt;
  double weight = text[0] - '0';
  if (text.size() == 1) return weight;
  if (text[1] != '.' || text.size() > 5) return std::nullopt;
  double scale = 0.1;
  for (std::size_t i = 2; i < text.size(); ++i, scale /= 10) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    weight += (text[i] - '0') * scale;
  }
  return weight <= 1 ? std::optional<double>(weight) : std::nullopt;
}

// One element of Accept: its media range, the parameters that matter here, its weight.
struct MediaRange {
  std::string_view type;
  std::string_view proto;
  std::string_view encoding;
  double weight = 1;
  bool valid = true;
};

MediaRange parse_media_range(std::string_view element) {
  MediaRange range;
  std::size_t semicolon = element.find(';');
  range.type = trim(element.substr(0, semicolon));
  while (semicolon != std::string_view::npos) {
    element.remove_prefix(semicolon + 1);
    semicolon = element.find(';');
    const std::string_view parameter = element.substr(0, semicolon);
    const std::size_t equals = parameter.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view name = trim(parameter.substr(0, equals));
    std::string_view value = trim(parameter.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (equals_ignoring_case(name, "q")) {
      const std::optional<double> weight = parse_weight(value);
      range.valid = range.valid && weight.has_value();
      range.weight = weight.value_or(0);
    } else if (equals_ignoring_case(name, "proto")) {
      range.proto = value;
    } else if (equals_ignoring_case(name, "encoding")) {
      range.encoding = value;
    }
  }
  return range;
}

}  // namespace

std::string_view content_type(ExpositionFormat format) {
  return format == ExpositionFormat::kProtobuf ? kProtobufType : kTextType;
}

ExpositionFormat negotiate_format(std::string_view accept) {
  double protobuf = 0;
  double text = 0;
  while (!accept.empty()) {
    const std::size_t comma = accept.find(',');
    const MediaRange range = parse_media_range(accept.substr(0, comma));
    accept.remove_prefix(comma == std::string_view::npos ? accept.size() : comma + 1);
    if (!range.valid) continue;
    if (equals_ignoring_case(range.type, "application/vnd.google.protobuf")) {
      if (range.proto == "io.prometheus.client.MetricFamily" && range.encoding == "delimited")
        protobuf = std::max(protobuf, range.weight);
    } else if (equals_ignoring_case(range.type, "text/plain") ||
               equals_ignoring_case(range.type, "text/*") || range.type == "*/*") {
      text = std::max(text, range.weight);
    }
  }
  // Text is what every scraper reads: protobuf only when asked for before it.
  return protobuf > 0 && protobuf > text ? ExpositionFormat::kProtobuf : ExpositionFormat::kText;
}

std::size_t Exposition::stored_bytes() const {
  std::size_t bytes = 0;
  for (const Body& body : bodies_) bytes += body.gzip.capacity();
  return bytes;
}

struct ExpositionCursor::Inflater {
  explicit Inflater(std::string_view stored) : window(new char[kWindow]) {
    if (stored.size() > std::numeric_limits<uInt>::max())
      throw std::runtime_error("exposition larger than zlib can inflate in one pass");
    // 15 + 16: a gzip member, with a window of up to 32 KiB.
    if (inflateInit2(&stream, 15 + 16) != Z_OK)
      throw std::runtime_error("zlib: inflateInit2 failed");
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(stored.data()));
    stream.avail_in = static_cast<uInt>(stored.size());
  }
  ~Inflater() { inflateEnd(&stream); }

  // Inflates the next window's worth.
  void refill() {
    stream.next_out = reinterpret_cast<Bytef*>(window.get());
    stream.avail_out = kWindow;
    const int result = inflate(&stream, Z_NO_FLUSH);
    if (result != Z_OK && result != Z_STREAM_END)
      throw std::runtime_error("the stored exposition does not inflate");
    begin = 0;
    end = kWindow - stream.avail_out;
    if (end == 0) throw std::runtime_error("the stored exposition ends early");
  }

  z_stream stream{};
  std::unique_ptr<char[]> window;
  std::size_t begin = 0;  // window[begin, end) is inflated and not yet consumed
  std::size_t end = 0;
};

ExpositionCursor::ExpositionCursor(std::shared_ptr<const Exposition> exposition,
                                   ExpositionFormat format, bool gzip)
    : exposition_(std::move(exposition)),
      stored_(exposition_->body(format).gzip),
      gzip_(gzip),
      size_(gzip ? stored_.size() : exposition_->body(format).plain_size) {
  if (!exposition_->has(format))
    throw std::logic_error("the exposition lacks the format asked for");
}

ExpositionCursor::~ExpositionCursor() = default;

std::string_view ExpositionCursor::peek(std::size_t max) {
  if (done()) return {};
  if (gzip_) return stored_.substr(consumed_, max);
  if (!inflater_) inflater_ = std::make_unique<Inflater>(stored_);
  if (inflater_->begin == inflater_->end) inflater_->refill();
  const std::size_t available = std::min(inflater_->end - inflater_->begin, size_ - consumed_);
  return {inflater_->window.get() + inflater_->begin, std::min(available, max)};
}

void ExpositionCursor::consume(std::size_t count) {
  consumed_ += count;
  if (inflater_) {
    inflater_->begin += count;
    if (done()) inflater_.reset();  // its window and zlib state: 50 KiB per connection
  }
}

std::size_t ExpositionCursor::read(char* buffer, std::size_t capacity) {
  std::size_t copied = 0;
  while (copied < capacity && !done()) {
    const std::string_view next = peek(capacity - copied);
    std::copy(next.begin(), next.end(), buffer + copied);
    copied += next.size();
    consume(next.size());
  }
  return copied;
}

}  // namespace execmond::http

#include "http/gzip_stream.h"

#include <zlib.h>

#include <limits>
#include <stdexcept>

namespace execmond::http {

struct GzipStream::State {
  z_stream stream{};
};

GzipStream::GzipStream() : state_(std::make_unique<State>()) {
  // 15 + 16: a 32 KiB window, and a gzip header and trailer rather than zlib's.
  if (deflateInit2(&state_->stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("zlib: deflateInit2 failed");
  }
}

GzipStream::~GzipStream() { deflateEnd(&state_->stream); }

void GzipStream::write(std::string_view bytes) {
  z_stream& stream = state_->stream;
  while (!bytes.empty()) {
    // avail_in is 32 bits: feed very large pieces in parts.
    const std::size_t part = std::min<std::size_t>(bytes.size(), std::numeric_limits<uInt>::max());
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    stream.avail_in = static_cast<uInt>(part);
    deflate_into_output(Z_NO_FLUSH);
    plain_size_ += part;
    bytes.remove_prefix(part);
  }
}

std::string GzipStream::finish() {
  state_->stream.next_in = nullptr;
  state_->stream.avail_in = 0;
  deflate_into_output(Z_FINISH);
  output_.shrink_to_fit();
  return std::move(output_);
}

// Runs deflate until it has taken all its input (and, with Z_FINISH, ended the member).
void GzipStream::deflate_into_output(int flush) {
  z_stream& stream = state_->stream;
  char chunk[16 * 1024];
  for (;;) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof chunk;
    const int result = deflate(&stream, flush);
    if (result == Z_STREAM_ERROR) throw std::runtime_error("zlib: deflate failed");
    output_.append(chunk, sizeof chunk - stream.avail_out);
    if (flush == Z_FINISH ? result == Z_STREAM_END : stream.avail_in == 0 && stream.avail_out != 0)
      return;
  }
}

std::string gzip_compress(std::string_view text) {
  GzipStream stream;
  stream.write(text);
  return stream.finish();
}

}  // namespace execmond::http

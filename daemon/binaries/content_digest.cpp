// SPDX-License-Identifier: Apache-2.0
#include "binaries/content_digest.h"

namespace execmond {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

template <std::size_t N>
std::string Digest<N>::hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text(2 * N, '0');
  for (std::size_t i = 0; i < N; ++i) {
    text[2 * i] = kDigits[bytes[i] >> 4];
    text[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return text;
}

template <std::size_t N>
std::optional<Digest<N>> Digest<N>::from_hex(std::string_view text) {
  if (text.size() != 2 * N) return std::nullopt;
  Digest digest;
  for (std::size_t i = 0; i < N; ++i) {
    const int high = hex_value(text[2 * i]), low = hex_value(text[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    digest.bytes[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return digest;
}

template struct Digest<32>;
template struct Digest<16>;

}  // namespace execmond

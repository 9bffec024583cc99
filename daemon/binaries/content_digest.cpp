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

bool is_sha256_entry(std::string_view entry) {
  return entry.substr(0, kSha256EntryPrefix.size()) == kSha256EntryPrefix;
}

std::optional<std::string> sha256_entry_error(std::string_view entry) {
  const std::string_view hex = entry.substr(kSha256EntryPrefix.size());
  if (hex.size() != 64) {
    return "a sha256: entry needs 64 hex digits after \"sha256:\" (sha256sum prints them), "
           "this one has " +
           std::to_string(hex.size());
  }
  for (std::size_t i = 0; i < hex.size(); ++i) {
    if (hex_value(hex[i]) < 0) {
      return "a sha256: entry holds only hex digits 0-9 and a-f after \"sha256:\", character " +
             std::to_string(kSha256EntryPrefix.size() + i + 1) + " is not one";
    }
  }
  return std::nullopt;
}

}  // namespace execmond

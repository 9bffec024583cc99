// SPDX-License-Identifier: Apache-2.0
// What a file holds, named by its digests: SHA-256 for the allow-list and the log, MD5
// because that is what dpkg's md5sums record.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace execmond {

template <std::size_t N>
struct Digest {
  std::array<std::uint8_t, N> bytes{};

  bool operator==(const Digest& other) const { return bytes == other.bytes; }
  bool operator!=(const Digest& other) const { return bytes != other.bytes; }
  bool operator<(const Digest& other) const { return bytes < other.bytes; }
  // Lowercase hex, as sha256sum and md5sum print it.
  std::string hex() const;
  // Exactly 2 * N hex digits, either case; nothing else.
  static std::optional<Digest> from_hex(std::string_view text);
};

using Sha256 = Digest<32>;
using Md5 = Digest<16>;

// One read of a file gives both.
struct ContentDigest {
  Sha256 sha256;
  Md5 md5;
  bool operator==(const ContentDigest& other) const {
    return sha256 == other.sha256 && md5 == other.md5;
  }
};

}  // namespace execmond

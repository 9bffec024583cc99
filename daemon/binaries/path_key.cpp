// SPDX-License-Identifier: Apache-2.0
#include "binaries/path_key.h"

#include <sys/random.h>

#include <cstring>
#include <random>

namespace execmond {
namespace {

inline std::uint64_t rotl(std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct SipState {
  std::uint64_t v0, v1, v2, v3;
  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }
  void absorb(std::uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

}  // namespace

PathKeyer::PathKeyer() {
  std::uint64_t key[2] = {};
  if (::getrandom(key, sizeof(key), 0) != static_cast<ssize_t>(sizeof(key))) {
    // No entropy source (a seccomp filter refusing getrandom): the C++ library's.
    std::random_device device;
    key[0] = (static_cast<std::uint64_t>(device()) << 32) | device();
    key[1] = (static_cast<std::uint64_t>(device()) << 32) | device();
  }
  k0_ = key[0];
  k1_ = key[1];
}

// SipHash-2-4 (Aumasson and Bernstein), little-endian words.
std::uint64_t PathKeyer::operator()(std::string_view path) const {
  SipState s{k0_ ^ 0x736f6d6570736575ULL, k1_ ^ 0x646f72616e646f6dULL, k0_ ^ 0x6c7967656e657261ULL,
             k1_ ^ 0x7465646279746573ULL};
  const std::size_t whole = path.size() / 8 * 8;
  for (std::size_t at = 0; at < whole; at += 8) {
    std::uint64_t m;
    std::memcpy(&m, path.data() + at, 8);
    s.absorb(m);
  }
  std::uint64_t last = static_cast<std::uint64_t>(path.size()) << 56;
  for (std::size_t i = 0; i < path.size() - whole; ++i)
    last |= static_cast<std::uint64_t>(static_cast<unsigned char>(path[whole + i])) << (8 * i);
  s.absorb(last);
  s.v2 ^= 0xff;
  s.round();
  s.round();
  s.round();
  s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace execmond

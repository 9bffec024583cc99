// SPDX-License-Identifier: Apache-2.0
// Who is at the other end of a connection, as far as budgets go: an IPv4 address, or the
// /64 an IPv6 address belongs to (one host usually holds a whole /64, so counting single
// IPv6 addresses would let it take a fresh one per attempt).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace execmond::http {

struct ClientAddress {
  // The family, then the address (IPv4) or its first 64 bits (IPv6), zero-padded.
  using Key = std::array<std::uint8_t, 9>;

  // From what accept() filled in; an address of another family (none is expected) is
  // the all-zero key, shared by all such clients.
  static ClientAddress from(const sockaddr_storage& address);

  Key key{};
  std::string text;  // "192.0.2.1", "2001:db8::1": for the log

  struct Hash {
    std::size_t operator()(const Key& key) const;
  };
};

}  // namespace execmond::http

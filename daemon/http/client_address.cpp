// SPDX-License-Identifier: Apache-2.0
#include "http/client_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace execmond::http {

ClientAddress ClientAddress::from(const sockaddr_storage& address) {
  ClientAddress client;
  char text[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    client.key[0] = 4;
    std::memcpy(&client.key[1], &v4.sin_addr, 4);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
  } else if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
      // ::ffff:192.0.2.1 is 192.0.2.1, whichever socket it came in on.
      client.key[0] = 4;
      std::memcpy(&client.key[1], &v6.sin6_addr.s6_addr[12], 4);
    } else {
      client.key[0] = 6;
      std::memcpy(&client.key[1], &v6.sin6_addr, 8);
    }
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
  }
  client.text = text;
  return client;
}

std::size_t ClientAddress::Hash::operator()(const Key& bytes) const {
  // FNV-1a: the keys are few and short; an attacker choosing addresses to collide
  // costs the table a longer chain, bounded by its size.
  std::size_t hash = 14695981039346656037ull;
  for (const std::uint8_t byte : bytes) {
    hash = (hash ^ byte) * 1099511628211ull;
  }
  return hash;
}

}  // namespace execmond::http

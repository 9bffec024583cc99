// SPDX-License-Identifier: Apache-2.0
#include "http/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "http/port_holder.h"

namespace execmond::http {
namespace {

// Pending connections the kernel holds before accept: bursts of parallel scrapes.
constexpr int kBacklog = 1024;

std::string explain(int error, std::uint16_t port) {
  switch (error) {
    case EADDRINUSE: {
      const std::string holders = describe_port_holders(port);
      return "the address is already in use: " +
             (holders.empty() ? std::string("a socket of this host is bound to port ") +
                                    std::to_string(port) + " without listening"
                              : "port " + std::to_string(port) + " is held by " + holders) +
             "; choose another with --listen or the listen key";
    }
    case EACCES:
      return "permission denied: ports below 1024 need CAP_NET_BIND_SERVICE";
    case EADDRNOTAVAIL:
      return "no network interface of this host has this address";
    default:
      return std::strerror(error);
  }
}

}  // namespace

FileDescriptor listen_on(const ListenAddress& address) {
  sockaddr_storage storage{};
  socklen_t length;
  if (address.ipv6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(address.port);
    if (inet_pton(AF_INET6, address.host.c_str(), &sin6->sin6_addr) != 1) {
      throw ListenError("not an IPv6 address");
    }
    length = sizeof(*sin6);
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(address.port);
    sin->sin_addr.s_addr = htonl(INADDR_ANY);
    if (!address.host.empty() && inet_pton(AF_INET, address.host.c_str(), &sin->sin_addr) != 1) {
      throw ListenError("not an IPv4 address");
    }
    length = sizeof(*sin);
  }
  FileDescriptor socket_fd(
      socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!socket_fd) {
    const int error = errno;
    throw ListenError(explain(error, address.port), error);
  }
  const int on = 1;  // a port in TIME_WAIT after a restart is not "in use"
  if (setsockopt(socket_fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0) {
    throw ListenError(std::string("setsockopt(SO_REUSEADDR): ") + std::strerror(errno), errno);
  }
  // "[::]:9717" means IPv6 only, whatever net.ipv6.bindv6only says.
  if (address.ipv6 &&
      setsockopt(socket_fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) {
    throw ListenError(std::string("setsockopt(IPV6_V6ONLY): ") + std::strerror(errno), errno);
  }
  if (bind(socket_fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
      listen(socket_fd.get(), kBacklog) != 0) {
    const int error = errno;
    throw ListenError(explain(error, address.port), error);
  }
  return socket_fd;
}

std::uint16_t bound_port(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    const int error = errno;
    throw ListenError(std::string("cannot read the port bound: ") + std::strerror(error), error);
  }
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

}  // namespace execmond::http

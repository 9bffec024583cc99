#include "service/listen_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "service/file_descriptor.h"

namespace execmond {
namespace {

std::string explain(int error) {
  switch (error) {
    case EADDRINUSE:
      return "the address is already in use: another process listens on this port; choose "
             "another with --listen or the listen key";
    case EACCES:
      return "permission denied: ports below 1024 need CAP_NET_BIND_SERVICE";
    case EADDRNOTAVAIL:
      return "no network interface of this host has this address";
    default:
      return std::strerror(error);
  }
}

}  // namespace

std::optional<std::string> why_cannot_listen(const ListenAddress& address) {
  sockaddr_storage storage{};
  socklen_t length;
  if (address.ipv6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(address.port);
    if (inet_pton(AF_INET6, address.host.c_str(), &sin6->sin6_addr) != 1)
      return "not an IPv6 address";
    length = sizeof(*sin6);
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(address.port);
    sin->sin_addr.s_addr = htonl(INADDR_ANY);
    if (!address.host.empty() && inet_pton(AF_INET, address.host.c_str(), &sin->sin_addr) != 1)
      return "not an IPv4 address";
    length = sizeof(*sin);
  }
  FileDescriptor socket_fd(socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket_fd) return explain(errno);
  const int on = 1;  // as civetweb does: a port in TIME_WAIT is not "in use"
  setsockopt(socket_fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (bind(socket_fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0)
    return explain(errno);
  return std::nullopt;
}

}  // namespace execmond

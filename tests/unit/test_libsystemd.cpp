// SPDX-License-Identifier: Apache-2.0
// libsystemd opened at run time: its functions reach the service manager when the
// library is there, and every call is a harmless no-op when it is not.
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>
#include <string>

#include "service/file_descriptor.h"
#include "service/libsystemd.h"

using execmond::LibSystemd;

TEST_CASE("libsystemd: an absent library leaves every call a no-op", "[libsystemd]") {
  const LibSystemd absent("libsystemd-absent-for-execmond-tests.so.0");
  REQUIRE_FALSE(absent.loaded());
  CHECK(absent.notify("READY=1") == -ENOSYS);
  std::uint64_t usec = 7;
  CHECK(absent.watchdog_enabled(&usec) == 0);
  char message[] = "MESSAGE=x";
  const iovec field{message, sizeof message - 1};
  CHECK(absent.journal_sendv(&field, 1) == -ENOSYS);
}

TEST_CASE("libsystemd: the loaded library's sd_notify reaches NOTIFY_SOCKET", "[libsystemd]") {
  // Debian's libsystemd0 is on every machine that builds execmond (apt needs it).
  const LibSystemd& systemd = LibSystemd::get();
  REQUIRE(systemd.loaded());

  execmond::FileDescriptor socket_fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  REQUIRE(socket_fd.get() >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  // An abstract address ("@name" in NOTIFY_SOCKET): nothing to clean up.
  const std::string name = "execmond-test-notify-" + std::to_string(getpid());
  name.copy(address.sun_path + 1, sizeof(address.sun_path) - 2);
  const socklen_t length =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  REQUIRE(bind(socket_fd.get(), reinterpret_cast<sockaddr*>(&address), length) == 0);

  REQUIRE(setenv("NOTIFY_SOCKET", ("@" + name).c_str(), 1) == 0);
  const int sent = systemd.notify("READY=1\nSTATUS=testing");
  unsetenv("NOTIFY_SOCKET");
  REQUIRE(sent > 0);
  char buffer[128] = {};
  const ssize_t received = recv(socket_fd.get(), buffer, sizeof(buffer) - 1, MSG_DONTWAIT);
  REQUIRE(received > 0);
  CHECK(std::string(buffer, static_cast<std::size_t>(received)) == "READY=1\nSTATUS=testing");

  // Outside a service manager: no socket, no watchdog.
  CHECK(systemd.notify("READY=1") == 0);
  std::uint64_t usec = 0;
  CHECK(systemd.watchdog_enabled(&usec) == 0);
}

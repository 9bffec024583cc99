// SPDX-License-Identifier: Apache-2.0
// The listening socket of /metrics.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "config/units.h"
#include "service/file_descriptor.h"

namespace execmond::http {

// Why an address could not be bound, in words an operator can act on.
class ListenError : public std::runtime_error {
 public:
  ListenError(const std::string& what, int error = 0) : std::runtime_error(what), error_(error) {}
  // The errno of the call that failed (EADDRINUSE, EACCES, ...), or 0.
  int error() const { return error_; }

 private:
  int error_;
};

// A non-blocking socket bound to `address` and listening.
FileDescriptor listen_on(const ListenAddress& address);

// The port a listening socket got (the kernel's choice for port 0); a ListenError if the
// kernel will not say.
std::uint16_t bound_port(int fd);

}  // namespace execmond::http

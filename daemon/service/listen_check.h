// Why /metrics could not listen on an address, in words an operator can act on.
#pragma once

#include <optional>
#include <string>

#include "config/units.h"

namespace execmond {

// Binds a socket to `address` and lets it go. civetweb only says that it failed; this
// says why (in use, privileged port, no such interface).
std::optional<std::string> why_cannot_listen(const ListenAddress& address);

}  // namespace execmond

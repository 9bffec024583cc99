// SPDX-License-Identifier: Apache-2.0
// Who listens on a TCP port, for the message that says a port is taken: "sshd (pid 812)"
// is something an operator can act on; "address already in use" is not.
#pragma once

#include <cstdint>
#include <string>

namespace execmond::http {

// "sshd (pid 812)", "this execmond (pid 4242)", several joined by ", ", or a sentence
// saying the holder cannot be seen (another PID namespace, ProtectProc=invisible); empty
// when no socket listens on `port` at all. Reads /proc with a bound on what it reads.
std::string describe_port_holders(std::uint16_t port);

}  // namespace execmond::http

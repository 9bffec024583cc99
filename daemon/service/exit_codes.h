// SPDX-License-Identifier: Apache-2.0
// execmond's exit codes: documented in the README, relied on by scripts and systemd.
#pragma once

namespace execmond::exit_code {

constexpr int kOk = 0;                 // clean shutdown, or --check-config found no problem
constexpr int kRuntimeFailure = 1;     // an unexpected failure while running
constexpr int kUsage = 2;              // bad command line
constexpr int kConfigInvalid = 3;      // the configuration file is unreadable or invalid
constexpr int kNoPrivilege = 4;        // not allowed to load BPF programs
constexpr int kKernelUnsupported = 5;  // no BTF, or the kernel refused the programs
constexpr int kCannotListen = 6;       // the /metrics address could not be bound

}  // namespace execmond::exit_code

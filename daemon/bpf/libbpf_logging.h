// SPDX-License-Identifier: Apache-2.0
// libbpf's messages, routed through execmond's logger.
#pragma once

namespace execmond {

// libbpf warnings become warnings; its info and debug chatter (every relocation) only
// shows at debug and trace levels.
void route_libbpf_logs_to_spdlog();

// While one lives, libbpf's warnings are logged at debug level: for an attempt whose
// failure is expected on some kernels and handled by trying something else.
class LibbpfWarningsAsDebug {
 public:
  LibbpfWarningsAsDebug();
  ~LibbpfWarningsAsDebug();
  LibbpfWarningsAsDebug(const LibbpfWarningsAsDebug&) = delete;
  LibbpfWarningsAsDebug& operator=(const LibbpfWarningsAsDebug&) = delete;
};

}  // namespace execmond

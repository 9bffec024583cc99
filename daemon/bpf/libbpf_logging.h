// libbpf's messages, routed through execmond's logger.
#pragma once

namespace execmond {

// libbpf warnings become warnings; its info and debug chatter (every relocation) only
// shows at debug and trace levels.
void route_libbpf_logs_to_spdlog();

}  // namespace execmond

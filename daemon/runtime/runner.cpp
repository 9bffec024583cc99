// SPDX-License-Identifier: Apache-2.0
#include "runtime/runner.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "bpf/libbpf_logging.h"
#include "service/exit_codes.h"
#include "service/logging.h"

namespace execmond {
namespace {

int exit_code_for(const ProbeError& error) {
  return error.cause() == ProbeError::Cause::kNoPrivilege ? exit_code::kNoPrivilege
                                                          : exit_code::kKernelUnsupported;
}

}  // namespace

const char* service_signal_name(int signal) {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
  }
  return "a signal";
}

Runner::Runner(spdlog::level::level_enum log_level) {
  setup_logging(log_level);
  route_libbpf_logs_to_spdlog();
}

Runner::~Runner() {
  stop_reader();
  detach();
}

std::optional<int> Runner::attach(const ProbeOptions& options) {
  try {
    probes_ = ProcessProbes::attach(options);
  } catch (const ProbeError& error) {
    spdlog::critical("{}", error.what());
    return exit_code_for(error);
  }
  return std::nullopt;
}

void Runner::start_reader(RecordSink& sink, std::chrono::milliseconds poll_interval,
                          RingBufferReader::Heartbeat heartbeat) {
  reader_ = std::make_unique<RingBufferReader>(probes_->ring_buffer_fd(), sink, poll_interval,
                                               std::move(heartbeat));
}

Runner::Event Runner::wait(int server_failure_fd) {
  for (;;) {
    pollfd fds[3] = {{signals_.fd(), POLLIN, 0},
                     {reader_ ? reader_->failure_fd() : -1, POLLIN, 0},
                     {server_failure_fd, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[1].revents & POLLIN) return {Wake::kReaderFailed, 0};
    if (fds[2].revents & POLLIN) return {Wake::kServerFailed, 0};
    if (const int signal = signals_.take())
      return {signal == SIGHUP ? Wake::kReload : Wake::kShutdown, signal};
  }
}

void Runner::stop_reader() {
  if (reader_) reader_->stop();
}

void Runner::detach() {
  reader_.reset();  // it reads the programs' ring buffer
  probes_.reset();
}

}  // namespace execmond

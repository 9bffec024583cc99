// SIGTERM (how systemd stops a service) and SIGINT, received as data on a signalfd.
#pragma once

#include <signal.h>

#include "service/file_descriptor.h"

namespace execmond {

class ShutdownSignal {
 public:
  // Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it starts
  // later: construct it before any thread exists.
  ShutdownSignal();
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  // Blocks until SIGTERM or SIGINT arrives and returns it. SIGHUP is logged and ignored:
  // configuration is read at start only.
  int wait();

 private:
  sigset_t previous_mask_;
  FileDescriptor signal_fd_;
};

}  // namespace execmond

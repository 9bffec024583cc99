// SPDX-License-Identifier: Apache-2.0
// The signals a service is driven by, received as data on a signalfd: SIGTERM (how
// systemd stops a service), SIGINT (Ctrl-C) and SIGHUP (reload).
#pragma once

#include <signal.h>

#include "service/file_descriptor.h"

namespace execmond {

class ServiceSignals {
 public:
  // Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it starts
  // later: construct it before any thread exists.
  ServiceSignals();
  ~ServiceSignals();
  ServiceSignals(const ServiceSignals&) = delete;
  ServiceSignals& operator=(const ServiceSignals&) = delete;

  // Readable while a signal is pending: poll it with other descriptors.
  int fd() const { return signal_fd_.get(); }
  // The pending signal's number, or 0 when none is pending; never waits.
  int take();

 private:
  sigset_t previous_mask_;
  FileDescriptor signal_fd_;
};

}  // namespace execmond

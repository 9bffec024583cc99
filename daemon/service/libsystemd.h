// SPDX-License-Identifier: Apache-2.0
// libsystemd, opened at run time (dlopen) rather than linked: the same binary then runs
// under systemd (readiness, watchdog, journald fields) and on hosts or in containers
// without the library, as the portable build must. Loaded once, on first use; the log
// says which of the two it is.
#pragma once

#include <sys/uio.h>

#include <cstdint>

namespace execmond {

class LibSystemd {
 public:
  // The process's one instance of libsystemd.so.0, opened on the first call
  // (thread-safe).
  static const LibSystemd& get();
  // Opens SONAME (tests name one that does not exist); never closed.
  explicit LibSystemd(const char* soname);

  bool loaded() const { return notify_ != nullptr; }

  // sd_notify(0, state); -ENOSYS without the library.
  int notify(const char* state) const;
  // sd_watchdog_enabled(0, usec); 0 (no watchdog) without the library.
  int watchdog_enabled(std::uint64_t* usec) const;
  // sd_journal_sendv(fields, count): each field "NAME=value"; -ENOSYS without the library.
  int journal_sendv(const iovec* fields, int count) const;

 private:
  using NotifyFunction = int (*)(int, const char*);
  using WatchdogEnabledFunction = int (*)(int, std::uint64_t*);
  using JournalSendFunction = int (*)(const iovec*, int);

  NotifyFunction notify_ = nullptr;
  WatchdogEnabledFunction watchdog_enabled_ = nullptr;
  JournalSendFunction journal_send_ = nullptr;
};

}  // namespace execmond

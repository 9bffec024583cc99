// SPDX-License-Identifier: Apache-2.0
#include "service/libsystemd.h"

#include <dlfcn.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include <cerrno>
#include <cstdlib>
#include <type_traits>

namespace execmond {
namespace {

// The soname every systemd since 209 ships (libsystemd0 on Debian, systemd-libs on RHEL).
constexpr const char* kSoname = "libsystemd.so.0";

// The header's prototype and ours must agree, or the call through the pointer is wrong.
static_assert(std::is_same_v<decltype(&sd_notify), int (*)(int, const char*)>);
static_assert(std::is_same_v<decltype(&sd_watchdog_enabled), int (*)(int, std::uint64_t*)>);
static_assert(std::is_same_v<decltype(&sd_journal_sendv), int (*)(const iovec*, int)>);

// Where it matters (under a service manager, or logging to the journal), say it at info.
bool under_systemd() {
  return std::getenv("NOTIFY_SOCKET") != nullptr || std::getenv("JOURNAL_STREAM") != nullptr;
}

}  // namespace

const LibSystemd& LibSystemd::get() {
  static const LibSystemd instance(kSoname);
  return instance;
}

LibSystemd::LibSystemd(const char* soname) {
  // Never closed: the process uses it until it exits.
  void* library = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  const auto level = under_systemd() ? spdlog::level::info : spdlog::level::debug;
  if (library == nullptr) {
    const char* error = dlerror();
    spdlog::log(under_systemd() ? spdlog::level::warn : level,
                "{} not found ({}): running without systemd readiness notification, "
                "watchdog or journald fields",
                soname, error != nullptr ? error : "unknown error");
    return;
  }
  auto* notify = reinterpret_cast<NotifyFunction>(dlsym(library, "sd_notify"));
  auto* watchdog = reinterpret_cast<WatchdogEnabledFunction>(dlsym(library, "sd_watchdog_enabled"));
  auto* journal = reinterpret_cast<JournalSendFunction>(dlsym(library, "sd_journal_sendv"));
  if (notify == nullptr || watchdog == nullptr || journal == nullptr) {
    spdlog::warn(
        "{} lacks sd_notify, sd_watchdog_enabled or sd_journal_sendv: running without "
        "systemd integration",
        soname);
    dlclose(library);
    return;
  }
  notify_ = notify;
  watchdog_enabled_ = watchdog;
  journal_send_ = journal;
  spdlog::log(level, "{} loaded: systemd readiness notification, watchdog and journald fields",
              soname);
}

int LibSystemd::notify(const char* state) const {
  return notify_ != nullptr ? notify_(0, state) : -ENOSYS;
}

int LibSystemd::journal_sendv(const iovec* fields, int count) const {
  return journal_send_ != nullptr ? journal_send_(fields, count) : -ENOSYS;
}

int LibSystemd::watchdog_enabled(std::uint64_t* usec) const {
  return watchdog_enabled_ != nullptr ? watchdog_enabled_(0, usec) : 0;
}

}  // namespace execmond

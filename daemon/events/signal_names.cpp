// SPDX-License-Identifier: Apache-2.0
#include "events/signal_names.h"

#include <csignal>

#include "events/fixed_name.h"

namespace execmond {
namespace {

// The kernel's real-time signals start at 32, but glibc keeps 32 and 33 for its threads:
// the SIGRTMIN that programs use, and `kill -l`, is 34.
constexpr int kUserRtMin = 34;

struct KnownSignal {
  int number;
  const char* name;
};

// clang-format off
#define EXECMOND_SIGNAL(name) KnownSignal{name, #name}
// The numbers come from the C library's headers, which follow the kernel's for the
// architecture built for. SIGIO is called SIGPOLL too, SIGABRT SIGIOT: one name each.
constexpr KnownSignal kKnownSignals[] = {
    EXECMOND_SIGNAL(SIGHUP),    EXECMOND_SIGNAL(SIGINT),    EXECMOND_SIGNAL(SIGQUIT),
    EXECMOND_SIGNAL(SIGILL),    EXECMOND_SIGNAL(SIGTRAP),   EXECMOND_SIGNAL(SIGABRT),
    EXECMOND_SIGNAL(SIGBUS),    EXECMOND_SIGNAL(SIGFPE),    EXECMOND_SIGNAL(SIGKILL),
    EXECMOND_SIGNAL(SIGUSR1),   EXECMOND_SIGNAL(SIGSEGV),   EXECMOND_SIGNAL(SIGUSR2),
    EXECMOND_SIGNAL(SIGPIPE),   EXECMOND_SIGNAL(SIGALRM),   EXECMOND_SIGNAL(SIGTERM),
    EXECMOND_SIGNAL(SIGSTKFLT), EXECMOND_SIGNAL(SIGCHLD),   EXECMOND_SIGNAL(SIGCONT),
    EXECMOND_SIGNAL(SIGSTOP),   EXECMOND_SIGNAL(SIGTSTP),   EXECMOND_SIGNAL(SIGTTIN),
    EXECMOND_SIGNAL(SIGTTOU),   EXECMOND_SIGNAL(SIGURG),    EXECMOND_SIGNAL(SIGXCPU),
    EXECMOND_SIGNAL(SIGXFSZ),   EXECMOND_SIGNAL(SIGVTALRM), EXECMOND_SIGNAL(SIGPROF),
    EXECMOND_SIGNAL(SIGWINCH),  EXECMOND_SIGNAL(SIGIO),     EXECMOND_SIGNAL(SIGPWR),
    EXECMOND_SIGNAL(SIGSYS),
};
#undef EXECMOND_SIGNAL
// clang-format on

constexpr std::size_t kNameCapacity = 24;  // "SIG_OUT_OF_RANGE" and a NUL

using Name = FixedName<kNameCapacity>;

struct SignalNames {
  Name by_slot[kSignalSlots];
};

constexpr SignalNames make_signal_names() {
  SignalNames names{};
  names.by_slot[0].append("SIG_OUT_OF_RANGE");
  for (int signal = 1; signal <= kMaxSignal; ++signal) {
    Name& name = names.by_slot[signal];
    bool known = false;
    for (const KnownSignal& k : kKnownSignals) {
      if (k.number != signal) continue;
      name.append(k.name);
      known = true;
    }
    if (known) continue;
    if (signal >= kUserRtMin) {
      name.append("SIGRTMIN");
      if (signal > kUserRtMin) {
        name.append("+");
        name.append(signal - kUserRtMin);
      }
    } else {
      name.append("SIG");
      name.append(signal);
    }
  }
  return names;
}

constexpr SignalNames kSignalNames = make_signal_names();

static_assert(kSignalNames.by_slot[9].view() == "SIGKILL");
static_assert(kSignalNames.by_slot[32].view() == "SIG32");
static_assert(kSignalNames.by_slot[64].view() == "SIGRTMIN+30");

}  // namespace

std::string_view signal_name(int signal) {
  return kSignalNames.by_slot[signal_slot(signal)].view();
}

}  // namespace execmond

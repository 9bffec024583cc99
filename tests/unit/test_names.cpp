// SPDX-License-Identifier: Apache-2.0
// The label values that name signals and errnos, and the lifetime buckets.
#include <signal.h>
#include <string.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <set>
#include <string>

#include "events/errno_names.h"
#include "events/signal_names.h"
#include "metrics/duration_buckets.h"

using execmond::errno_name;
using execmond::signal_name;

TEST_CASE("signals have the names kill -l gives them", "[names]") {
  CHECK(signal_name(1) == "SIGHUP");
  CHECK(signal_name(6) == "SIGABRT");
  CHECK(signal_name(9) == "SIGKILL");
  CHECK(signal_name(11) == "SIGSEGV");
  CHECK(signal_name(13) == "SIGPIPE");
  CHECK(signal_name(15) == "SIGTERM");
  CHECK(signal_name(16) == "SIGSTKFLT");
  CHECK(signal_name(29) == "SIGIO");
  CHECK(signal_name(31) == "SIGSYS");
  // glibc's own, below the user-visible real-time range.
  CHECK(signal_name(32) == "SIG32");
  CHECK(signal_name(33) == "SIG33");
  CHECK(signal_name(34) == "SIGRTMIN");
  CHECK(signal_name(35) == "SIGRTMIN+1");
  CHECK(signal_name(64) == "SIGRTMIN+30");
  CHECK(signal_name(0) == "SIG_OUT_OF_RANGE");
  CHECK(signal_name(65) == "SIG_OUT_OF_RANGE");
  CHECK(signal_name(-9) == "SIG_OUT_OF_RANGE");
}

TEST_CASE("signal names agree with the C library's and are distinct", "[names]") {
  std::set<std::string> names;
  for (int signal = 0; signal <= execmond::kMaxSignal; ++signal) {
    names.emplace(signal_name(signal));
    const char* abbreviation = sigabbrev_np(signal);
    // glibc calls 29 POLL, its alias; kill -l and most tools say SIGIO.
    if (abbreviation == nullptr || signal == SIGIO) continue;
    INFO("signal " << signal);
    CHECK(signal_name(signal) == std::string("SIG") + abbreviation);
  }
  CHECK(names.size() == execmond::kSignalSlots);
  CHECK(execmond::signal_slot(SIGKILL) == 9);
  CHECK(execmond::signal_slot(0) == 0);
  CHECK(execmond::signal_slot(127) == 0);
}

TEST_CASE("errnos have their symbolic names", "[names]") {
  CHECK(errno_name(1) == "EPERM");
  CHECK(errno_name(2) == "ENOENT");
  CHECK(errno_name(7) == "E2BIG");
  CHECK(errno_name(8) == "ENOEXEC");
  CHECK(errno_name(13) == "EACCES");
  CHECK(errno_name(26) == "ETXTBSY");
  CHECK(errno_name(40) == "ELOOP");
  CHECK(errno_name(41) == "E41");
  CHECK(errno_name(58) == "E58");
  CHECK(errno_name(131) == "ENOTRECOVERABLE");
  CHECK(errno_name(133) == "EHWPOISON");
  CHECK(errno_name(0) == "E_OUT_OF_RANGE");
  CHECK(errno_name(134) == "E_OUT_OF_RANGE");
  CHECK(errno_name(-2) == "E_OUT_OF_RANGE");
}

TEST_CASE("errno names agree with the C library's and are distinct", "[names]") {
  std::set<std::string> names;
  for (int error = 0; error <= execmond::kMaxErrno; ++error) {
    names.emplace(errno_name(error));
    const char* name = strerrorname_np(error);
    if (name == nullptr || error == 0) continue;
    INFO("errno " << error);
    CHECK(errno_name(error) == name);
  }
  CHECK(names.size() == execmond::kErrnoSlots);
}

TEST_CASE("lifetime buckets: a lifetime on a bound counts in that bound's bucket",
          "[names][buckets]") {
  using namespace execmond::duration_buckets;
  CHECK(kBucketCount == 17);
  CHECK(bucket_index(0) == 0);
  for (std::size_t i = 0; i < kUpperBoundsNs.size(); ++i) {
    INFO("bound " << kUpperBoundsSeconds[i] << " s");
    CHECK(kUpperBoundsNs[i] == static_cast<std::uint64_t>(kUpperBoundsSeconds[i] * 1e9 + 0.5));
    CHECK(bucket_index(kUpperBoundsNs[i] - 1) == i);
    CHECK(bucket_index(kUpperBoundsNs[i]) == i);
    CHECK(bucket_index(kUpperBoundsNs[i] + 1) == i + 1);
  }
  CHECK(kUpperBoundsSeconds.front() == 0.001);
  CHECK(kUpperBoundsSeconds.back() == 86400);
  CHECK(bucket_index(std::numeric_limits<std::uint64_t>::max()) == kInfBucket);
}

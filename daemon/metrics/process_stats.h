// What the processes of one series did since the daemon started.
#pragma once

#include <array>
#include <cstdint>

#include "events/errno_names.h"
#include "events/signal_names.h"
#include "metrics/duration_buckets.h"
#include "metrics/native_buckets.h"
#include "metrics/running_total.h"

namespace execmond {

struct ProcessStats {
  RunningTotal<std::uint64_t> execs;
  RunningTotal<std::uint64_t> exits;
  RunningTotal<std::uint64_t> exits_nonzero;  // exited with a non-zero code, not by signal
  std::array<RunningTotal<std::uint64_t>, kSignalSlots> exits_by_signal;        // signal_slot()
  std::array<RunningTotal<std::uint64_t>, kErrnoSlots> exec_failures_by_errno;  // errno_slot()
  // Per bucket, not cumulative: a scrape sums them, so each scrape's histogram is
  // consistent with itself even while exits are being added.
  std::array<RunningTotal<std::uint64_t>, duration_buckets::kBucketCount> lifetime_buckets;
  // The same lifetimes in the native histogram's exponential buckets (native_buckets.h).
  std::array<RunningTotal<std::uint64_t>, native_buckets::kSlots> native_lifetimes;
  // Seconds, as a double: an integer of nanoseconds would wrap after 584 process-years,
  // which a thousand long-lived workers of one name add up to in seven months.
  RunningTotal<double> lifetime_sum_seconds;
};

}  // namespace execmond

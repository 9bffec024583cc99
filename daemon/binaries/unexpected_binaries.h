// The binaries stage: judges each binary record against the allow-list, teaches the
// kernel the allowed ones, counts and logs the others.
#pragma once

#include <array>
#include <cstdint>

#include "binaries/binary_allow_list.h"
#include "binaries/binary_verdict_cache.h"
#include "binaries/log_rate_limiter.h"
#include "binaries/unexpected_exec_log.h"
#include "events/records.h"
#include "metrics/unexpected_binary_metrics.h"

namespace execmond {

class UnexpectedBinaries {
 public:
  UnexpectedBinaries(BinaryVerdictCache& kernel_cache, UnexpectedBinaryMetrics& metrics,
                     const UnexpectedExecLog& log, BinaryAllowList allow_list);

  // Reader thread. An allowed binary costs one bpf() call, after which its execs send no
  // record; an unexpected one is counted, and logged unless the rate limit says no.
  // Records of loader verdicts (this stage writes none) are ignored.
  void on_binary(const execmond_binary_event& e);

  // Reader thread (post it there on reload): judge by `allow_list` from now on. Forgets
  // what the kernel cached under the old list; counters keep their values.
  void replace_allow_list(BinaryAllowList allow_list);

 private:
  // Identities written to the kernel lately. Execs of a binary that was just allowed
  // keep sending records until the write lands: one write covers them all. Entries
  // expire, so that a binary the kernel's LRU evicted is written again.
  struct RecentWrite {
    std::uint64_t ino = 0;
    std::uint64_t ctime_ns = 0;
    std::uint32_t dev = 0;
    std::uint32_t view = 0;
    std::uint64_t written_ns = 0;
  };
  static constexpr std::size_t kRecentWrites = 256;
  static constexpr std::uint64_t kRecentWriteNs = 1'000'000'000;
  bool written_lately(const execmond_binary_event& e);

  BinaryVerdictCache& kernel_cache_;
  UnexpectedBinaryMetrics& metrics_;
  const UnexpectedExecLog& log_;
  BinaryAllowList allow_list_;
  LogRateLimiter log_limiter_;
  std::array<RecentWrite, kRecentWrites> recent_writes_{};
};

}  // namespace execmond

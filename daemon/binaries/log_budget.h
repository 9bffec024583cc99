// How many unexpected-exec log lines may be written. A storm of one binary, or a flood of
// many, must neither fill the journal (journald drops a service's lines past 10,000 in
// 30 s by default) nor hide the next new binary:
//  - each judged file (a verdict) has its own bucket: 5 lines at once, then one a minute;
//  - each uid, process name and cgroup has one: 50 at once, then 10 a second, so that
//    one user (who cannot change their uid), one name or one unit flooding spends its
//    own budget, not everyone's;
//  - all together: 500 at once, then 100 a second.
// A file seen for the first time has a full bucket of its own, so once a flood stops
// (or from another uid even during it) a new file is logged within 0.1 s. Lines held
// back are counted, and summed once a second in one line naming the uids they came from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "events/records.h"

namespace execmond {

struct TokenBucket {
  std::uint64_t updated_ns = 0;
  double tokens = -1;  // < 0: never used, full
};

class LogBudget {
 public:
  struct Limits {
    double file_burst = 5;
    double file_per_second = 1.0 / 60;
    double owner_burst = 50;
    double owner_per_second = 10;
    double total_burst = 500;
    double total_per_second = 100;
  };
  static constexpr std::size_t kOwnerSlots = 1024;

  explicit LogBudget(const Limits& limits);
  LogBudget() : LogBudget(Limits{}) {}

  // One thread. `file`: the judged file's own bucket (kept in its verdict); `now_ns`: a
  // monotonic clock (the event's). True: write the line. Every budget must allow it; a
  // line held back is taken from none.
  bool admit(TokenBucket& file, std::uint32_t uid, const CommName& comm, std::uint64_t cgroup_id,
             std::uint64_t now_ns);
  // Whether `file` never had a line: its first one is held back for a while instead of
  // dropped (UnexpectedBinaries keeps it until its owner's budget has room again).
  static bool first_line(const TokenBucket& file) { return file.tokens < 0; }
  // The owner's and the overall budgets alone, for a held-back first line; takes a token
  // from each when they allow it.
  bool admit_held(std::uint32_t uid, const CommName& comm, std::uint64_t cgroup_id,
                  std::uint64_t now_ns);

  // Once a second at most: the lines held back since the last summary, e.g.
  // "4873 unexpected-exec log lines held back in the last 1.0 s (uid 1000: 4870, uid 0: 3)".
  struct Summary {
    std::uint64_t suppressed = 0;
    std::vector<std::pair<std::uint32_t, std::uint64_t>> by_uid;  // the largest first, ≤ 4
  };
  std::optional<Summary> summary(std::uint64_t now_ns);
  std::uint64_t suppressed_total() const { return suppressed_total_; }

 private:
  struct OwnerSlot {
    std::uint64_t owner = 0;
    TokenBucket bucket;
    bool used = false;
  };
  TokenBucket& owner_bucket(std::vector<OwnerSlot>& slots, std::uint64_t owner);
  static bool has_token(TokenBucket& bucket, double burst, double per_second, std::uint64_t now_ns);
  void note_suppressed(std::uint32_t uid);

  Limits limits_;
  std::vector<OwnerSlot> uids_, comms_, cgroups_;
  TokenBucket total_;
  std::uint64_t suppressed_total_ = 0;
  std::uint64_t suppressed_since_summary_ = 0;
  std::uint64_t summary_ns_ = 0;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> suppressed_by_uid_;  // ≤ 16
};

}  // namespace execmond

#include "binaries/log_budget.h"

#include <algorithm>
#include <functional>

#include "metrics/unexpected_binary_metrics.h"

namespace execmond {
namespace {

constexpr std::uint64_t kSecond = 1'000'000'000;
constexpr std::size_t kTrackedUids = 16;

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

}  // namespace

LogBudget::LogBudget(const Limits& limits)
    : limits_(limits), uids_(kOwnerSlots), comms_(kOwnerSlots), cgroups_(kOwnerSlots) {}

bool LogBudget::has_token(TokenBucket& bucket, double burst, double per_second,
                          std::uint64_t now_ns) {
  if (bucket.tokens < 0) {
    bucket.tokens = burst;
    bucket.updated_ns = now_ns;
  }
  if (now_ns > bucket.updated_ns) {
    const double refill = static_cast<double>(now_ns - bucket.updated_ns) * 1e-9 * per_second;
    bucket.tokens = std::min(burst, bucket.tokens + refill);
    bucket.updated_ns = now_ns;
  }
  return bucket.tokens >= 1;
}

TokenBucket& LogBudget::owner_bucket(std::vector<OwnerSlot>& slots, std::uint64_t owner) {
  // A slot per hash; an owner that lands on a taken slot takes it over with a full bucket
  // (memory stays bounded; a uid cannot be chosen to collide with another's).
  OwnerSlot& slot = slots[mix(owner) % slots.size()];
  if (!slot.used || slot.owner != owner) slot = OwnerSlot{owner, TokenBucket{}, true};
  return slot.bucket;
}

bool LogBudget::admit(TokenBucket& file, std::uint32_t uid, const CommName& comm,
                      std::uint64_t cgroup_id, std::uint64_t now_ns) {
  // The file's own budget first: in a storm of one binary it is the one spent, and the
  // cheapest to ask.
  if (!has_token(file, limits_.file_burst, limits_.file_per_second, now_ns) ||
      !admit_held(uid, comm, cgroup_id, now_ns)) {
    note_suppressed(uid);
    return false;
  }
  file.tokens -= 1;
  return true;
}

bool LogBudget::admit_held(std::uint32_t uid, const CommName& comm, std::uint64_t cgroup_id,
                           std::uint64_t now_ns) {
  TokenBucket& by_uid = owner_bucket(uids_, uid);
  TokenBucket& by_comm = owner_bucket(comms_, comm.word(0) ^ mix(comm.word(1)));
  TokenBucket& by_cgroup = owner_bucket(cgroups_, cgroup_id);
  // The root cgroup is no unit's (every process of a host without systemd is there).
  const bool unit = cgroup_id > kRootCgroupId;
  const bool allowed =
      has_token(by_uid, limits_.owner_burst, limits_.owner_per_second, now_ns) &&
      has_token(by_comm, limits_.owner_burst, limits_.owner_per_second, now_ns) &&
      (!unit || has_token(by_cgroup, limits_.owner_burst, limits_.owner_per_second, now_ns)) &&
      has_token(total_, limits_.total_burst, limits_.total_per_second, now_ns);
  if (!allowed) return false;
  for (TokenBucket* bucket : {&by_uid, &by_comm, &total_}) bucket->tokens -= 1;
  if (unit) by_cgroup.tokens -= 1;
  return true;
}

void LogBudget::note_suppressed(std::uint32_t uid) {
  ++suppressed_total_;
  ++suppressed_since_summary_;
  // A storm is one uid's: the one counted last, first.
  if (!suppressed_by_uid_.empty() && suppressed_by_uid_.back().first == uid) {
    ++suppressed_by_uid_.back().second;
    return;
  }
  for (auto& [known, count] : suppressed_by_uid_) {
    if (known == uid) {
      ++count;
      return;
    }
  }
  if (suppressed_by_uid_.size() < kTrackedUids) suppressed_by_uid_.emplace_back(uid, 1);
}

std::optional<LogBudget::Summary> LogBudget::summary(std::uint64_t now_ns) {
  if (suppressed_since_summary_ == 0 || now_ns < summary_ns_ + kSecond) return std::nullopt;
  Summary summary;
  summary.suppressed = suppressed_since_summary_;
  std::sort(suppressed_by_uid_.begin(), suppressed_by_uid_.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  suppressed_by_uid_.resize(std::min<std::size_t>(suppressed_by_uid_.size(), 4));
  summary.by_uid = std::move(suppressed_by_uid_);
  suppressed_by_uid_.clear();
  suppressed_since_summary_ = 0;
  summary_ns_ = now_ns;
  return summary;
}

}  // namespace execmond

// SPDX-License-Identifier: Apache-2.0
#include "http/client_throttle.h"

#include <algorithm>

namespace execmond::http {

TokenBucket::TokenBucket(Rate rate, ThrottleClock::time_point now)
    : rate_(rate), tokens_(rate.burst), updated_(now) {}

double TokenBucket::tokens_at(ThrottleClock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - updated_).count();
  return std::min(rate_.burst, tokens_ + std::max(0.0, elapsed) * rate_.per_second);
}

bool TokenBucket::take(ThrottleClock::time_point now) {
  const double tokens = tokens_at(now);
  updated_ = std::max(updated_, now);
  tokens_ = tokens;
  if (tokens < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

void TokenBucket::give_back() { tokens_ = std::min(rate_.burst, tokens_ + 1.0); }

ThrottleClock::duration TokenBucket::wait(ThrottleClock::time_point now) const {
  const double missing = 1.0 - tokens_at(now);
  if (missing <= 0 || rate_.per_second <= 0) return ThrottleClock::duration::zero();
  return std::chrono::duration_cast<ThrottleClock::duration>(
      std::chrono::duration<double>(missing / rate_.per_second));
}

ClientThrottle::ClientThrottle(Rate rate, std::size_t max_clients)
    : rate_(rate), max_clients_(max_clients), overflow_(rate) {}

TokenBucket& ClientThrottle::bucket(const ClientAddress::Key& client,
                                    ThrottleClock::time_point now) {
  const auto found = buckets_.find(client);
  if (found != buckets_.end()) return found->second;
  if (buckets_.size() >= max_clients_) prune(now);
  if (buckets_.size() >= max_clients_) return overflow_;
  return buckets_.emplace(client, TokenBucket(rate_, now)).first->second;
}

bool ClientThrottle::take(const ClientAddress::Key& client, ThrottleClock::time_point now) {
  return bucket(client, now).take(now);
}

void ClientThrottle::give_back(const ClientAddress::Key& client) {
  const auto found = buckets_.find(client);
  (found == buckets_.end() ? overflow_ : found->second).give_back();
}

ThrottleClock::duration ClientThrottle::wait(const ClientAddress::Key& client,
                                             ThrottleClock::time_point now) const {
  const auto found = buckets_.find(client);
  if (found == buckets_.end()) return overflow_.wait(now);
  return found->second.wait(now);
}

void ClientThrottle::prune(ThrottleClock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    it = it->second.full(now) ? buckets_.erase(it) : std::next(it);
  }
}

}  // namespace execmond::http

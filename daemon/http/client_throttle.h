// SPDX-License-Identifier: Apache-2.0
// Token buckets: one for the whole endpoint (rate_limit in the web configuration, as the
// exporter-toolkit's), and one per client address for the work a client can make the
// endpoint do that costs far more than it costs the client: a bcrypt check for a password
// never seen before, a full TLS handshake. A client within its rate never notices; a flood
// from one address is cut to that rate while every other client is served as before
// (nginx's limit_req per $binary_remote_addr).
#pragma once

#include <chrono>
#include <cstddef>
#include <unordered_map>

#include "http/client_address.h"

namespace execmond::http {

using ThrottleClock = std::chrono::steady_clock;

struct Rate {
  double per_second;  // tokens regained a second
  double burst;       // tokens held at most, and at first
};

class TokenBucket {
 public:
  explicit TokenBucket(Rate rate, ThrottleClock::time_point now = {});
  // Spends a token; false (nothing spent) when there is none.
  bool take(ThrottleClock::time_point now);
  void give_back();
  // How long until a token is there again.
  ThrottleClock::duration wait(ThrottleClock::time_point now) const;
  bool full(ThrottleClock::time_point now) const { return tokens_at(now) >= rate_.burst; }

 private:
  double tokens_at(ThrottleClock::time_point now) const;

  Rate rate_;
  double tokens_;
  ThrottleClock::time_point updated_;
};

class ClientThrottle {
 public:
  // At most `max_clients` buckets; clients beyond them share one, so a flood from many
  // addresses costs bounded memory and is throttled as one.
  ClientThrottle(Rate rate, std::size_t max_clients);

  bool take(const ClientAddress::Key& client, ThrottleClock::time_point now);
  // Returns a token spent on something that turned out to cost nothing (a check that
  // succeeded, a queue that was full).
  void give_back(const ClientAddress::Key& client);
  // How long until `client` has a token again: for Retry-After.
  ThrottleClock::duration wait(const ClientAddress::Key& client,
                               ThrottleClock::time_point now) const;
  // Forgets clients whose buckets are full again: they are as good as new.
  void prune(ThrottleClock::time_point now);

  std::size_t clients() const { return buckets_.size(); }

 private:
  TokenBucket& bucket(const ClientAddress::Key& client, ThrottleClock::time_point now);

  Rate rate_;
  std::size_t max_clients_;
  std::unordered_map<ClientAddress::Key, TokenBucket, ClientAddress::Hash> buckets_;
  TokenBucket overflow_;
};

}  // namespace execmond::http

// SPDX-License-Identifier: Apache-2.0
// The endpoint's budgets as pure functions: token buckets per client address, the
// response byte budget of slow clients, the connection table from the descriptor limit,
// and the one status-code table.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>

#include "http/client_address.h"
#include "http/client_throttle.h"
#include "http/descriptor_budget.h"
#include "http/limits.h"
#include "http/response_budget.h"
#include "http/status_codes.h"

namespace execmond::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

ClientAddress address(const char* text) {
  sockaddr_storage storage{};
  if (std::strchr(text, ':') != nullptr) {
    auto& v6 = reinterpret_cast<sockaddr_in6&>(storage);
    v6.sin6_family = AF_INET6;
    REQUIRE(inet_pton(AF_INET6, text, &v6.sin6_addr) == 1);
  } else {
    auto& v4 = reinterpret_cast<sockaddr_in&>(storage);
    v4.sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, text, &v4.sin_addr) == 1);
  }
  return ClientAddress::from(storage);
}

TEST_CASE("client addresses: IPv4 as is, IPv6 by its /64, mapped IPv4 as IPv4") {
  CHECK(address("192.0.2.1").text == "192.0.2.1");
  CHECK(address("192.0.2.1").key != address("192.0.2.2").key);
  CHECK(address("2001:db8:1:2::1").key == address("2001:db8:1:2:ffff::9").key);
  CHECK(address("2001:db8:1:2::1").key != address("2001:db8:1:3::1").key);
  CHECK(address("::ffff:192.0.2.1").key == address("192.0.2.1").key);
  CHECK(address("2001:db8:1:2::1").text == "2001:db8:1:2::1");
}

TEST_CASE("a token bucket: a burst, then its rate") {
  const ThrottleClock::time_point start{seconds(100)};
  TokenBucket bucket(Rate{2.0, 3.0}, start);
  CHECK(bucket.take(start));
  CHECK(bucket.take(start));
  CHECK(bucket.take(start));
  CHECK_FALSE(bucket.take(start));
  CHECK(bucket.wait(start) == milliseconds(500));
  CHECK_FALSE(bucket.take(start + milliseconds(400)));
  CHECK(bucket.take(start + milliseconds(500)));
  bucket.give_back();
  CHECK(bucket.take(start + milliseconds(500)));
  CHECK(bucket.full(start + seconds(10)));
  CHECK_FALSE(bucket.full(start + milliseconds(600)));
}

TEST_CASE("each client address has its own bucket, and the table is bounded") {
  const ThrottleClock::time_point now{seconds(100)};
  ClientThrottle throttle(Rate{1.0, 2.0}, 3);
  const auto a = address("192.0.2.1").key;
  const auto b = address("192.0.2.2").key;
  CHECK(throttle.take(a, now));
  CHECK(throttle.take(a, now));
  CHECK_FALSE(throttle.take(a, now));
  CHECK(throttle.wait(a, now) == seconds(1));
  CHECK(throttle.take(b, now));  // another address is not held back
  throttle.give_back(a);
  CHECK(throttle.take(a, now));
  // Beyond the table, addresses share one bucket: a flood from many costs bounded memory.
  CHECK(throttle.take(address("192.0.2.3").key, now));
  CHECK(throttle.clients() == 3);
  int shared = 0;
  for (int i = 10; i < 20; ++i) {
    const std::string text = "192.0.2." + std::to_string(i);
    if (throttle.take(address(text.c_str()).key, now)) ++shared;
  }
  CHECK(throttle.clients() == 3);
  CHECK(shared == 2);  // the shared bucket's burst
  // Full buckets are forgotten: those clients are as good as new.
  throttle.prune(now + seconds(10));
  CHECK(throttle.clients() == 0);
}

HeldResponse held(std::uint64_t render, std::size_t bytes, std::size_t sent, int milliseconds_ago,
                  std::size_t own = 0) {
  return {render, bytes, own, sent, milliseconds(milliseconds_ago)};
}

TEST_CASE("renders are counted once however many connections send them") {
  CHECK(held_bytes({}) == 0);
  CHECK(held_bytes({held(1, 100, 0, 0), held(1, 100, 50, 0), held(2, 300, 0, 0)}) == 400);
  // A plain-text response's own inflate window counts for each.
  CHECK(held_bytes({held(1, 100, 0, 0, 10), held(1, 100, 50, 0, 10), held(2, 300, 0, 0)}) == 420);
  CHECK(response_budget(1000, 4096) == 4096);
  CHECK(response_budget(10000, 4096) == 20000);
}

TEST_CASE("over the budget, older renders go whole, the slowest senders' first") {
  // Render 3 is the newest; 1 and 2 are held by slow clients, 2 also by a fast one.
  const std::vector<HeldResponse> responses = {
      held(1, 1000, 10, 1000),      // 10 B/s
      held(2, 1000, 20, 1000),      // 20 B/s
      held(2, 1000, 500000, 1000),  // 500 kB/s: a scraper behind a slow link
      held(3, 1000, 0, 0),          // just started on the newest
      held(1, 1000, 5, 1000),
  };
  const auto grace = seconds(1);
  CHECK(choose_slow_senders(responses, 3, 3000, grace).empty());
  // One render must go: render 1, whose fastest sender is the slowest.
  CHECK(choose_slow_senders(responses, 3, 2500, grace) == std::vector<std::size_t>{0, 4});
  // Both older ones; never the newest render, even over budget.
  CHECK(choose_slow_senders(responses, 3, 1000, grace) == std::vector<std::size_t>{0, 4, 1, 2});
  CHECK(choose_slow_senders(responses, 3, 0, grace) == std::vector<std::size_t>{0, 4, 1, 2});
}

TEST_CASE("then the slowest plain-text senders of the newest render, past a grace period") {
  const std::vector<HeldResponse> responses = {
      held(5, 1000, 100, 2000, 100),   // 50 B/s
      held(5, 1000, 40, 2000, 100),    // 20 B/s: the slowest
      held(5, 1000, 9000, 2000, 100),  // 4.5 kB/s
      held(5, 1000, 0, 100, 100),      // sending for 0.1 s: no rate yet
      held(5, 1000, 10, 3000, 0),      // gzip: cutting it off frees nothing
  };
  CHECK(held_bytes(responses) == 1400);
  CHECK(choose_slow_senders(responses, 5, 1400, seconds(1)).empty());
  CHECK(choose_slow_senders(responses, 5, 1300, seconds(1)) == std::vector<std::size_t>{1});
  CHECK(choose_slow_senders(responses, 5, 1200, seconds(1)) == std::vector<std::size_t>{1, 0});
  CHECK(choose_slow_senders(responses, 5, 0, seconds(1)) == std::vector<std::size_t>{1, 0, 2});
}

TEST_CASE("the connection table follows the descriptor limit") {
  CHECK(connection_capacity(1024, 30) == kMaxConnections);
  CHECK(connection_capacity(128, 30) == 128 - 30 - kSpareDescriptors);
  CHECK(connection_capacity(64, 30) == kMinConnections);
  CHECK(connection_capacity(UINT64_MAX, 30) == kMaxConnections);
  CHECK(open_descriptors() >= 3);  // stdin, stdout, stderr at least
  const DescriptorLimit limit = descriptor_limit();
  CHECK(limit.soft <= limit.hard);
}

TEST_CASE("one status-code table for reason phrases and counters") {
  CHECK(reason_phrase(200) == "OK");
  CHECK(reason_phrase(429) == "Too Many Requests");
  CHECK(reason_phrase(299) == "Unknown");
  CHECK(status_index(200) == std::optional<std::size_t>(0));
  CHECK_FALSE(status_index(302));
  for (std::size_t i = 0; i < kStatusCount; ++i) {
    CHECK(status_index(kStatusCodes[i].code) == std::optional<std::size_t>(i));
  }
}

}  // namespace
}  // namespace execmond::http

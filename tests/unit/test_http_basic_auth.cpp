// SPDX-License-Identifier: Apache-2.0
#include <crypt.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "http/authenticator.h"
#include "http/basic_auth.h"
#include "http/limits.h"

namespace execmond::http {
namespace {

using Verdict = Authenticator::Verdict;

// bcrypt at the lowest cost, so that the test is fast.
std::string bcrypt(const std::string& password, int cost = 4) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  const char* hash = crypt_rn(password.c_str(), salt, &data, sizeof data);
  REQUIRE(hash != nullptr);
  return hash;
}

ClientAddress::Key client(std::uint8_t last) { return {4, 192, 0, 2, last, 0, 0, 0, 0}; }

TEST_CASE("basic authorization headers are decoded") {
  const auto decoded = decode_basic_authorization("Basic YWxpY2U6czNjcjN0OndpdGg6Y29sb25z");
  REQUIRE(decoded);
  CHECK(decoded->user == "alice");
  CHECK(decoded->password == "s3cr3t:with:colons");
  CHECK(decode_basic_authorization("basic  dTo=")->password.empty());  // "u:", case, spaces
  CHECK(decode_basic_authorization("Basic dTpw")->user == "u");
  CHECK(decode_basic_authorization("Basic dTpwcA==")->password == "pp");
  CHECK_FALSE(decode_basic_authorization("Bearer dTpw"));
  CHECK_FALSE(decode_basic_authorization("Basic dXNlcg=="));  // "user": no colon
  CHECK_FALSE(decode_basic_authorization("Basic d!pw"));
  CHECK_FALSE(decode_basic_authorization("Basic"));
  CHECK_FALSE(decode_basic_authorization("Basic "));
  CHECK_FALSE(decode_basic_authorization("Basic dTpwA"));     // 5 characters: not base64
  CHECK_FALSE(decode_basic_authorization("Basic dTpwcA"));    // padding left out
  CHECK_FALSE(decode_basic_authorization("Basic dTpwc==="));  // too much padding
  CHECK_FALSE(decode_basic_authorization("Basic dT=wcA=="));  // padding in the middle
  CHECK_FALSE(decode_basic_authorization("Basic dTp wcA="));  // a blank inside
  CHECK_FALSE(decode_basic_authorization("Basic dTpw\n"));
}

TEST_CASE("a password with a NUL is refused, not cut short where bcrypt would stop") {
  CHECK(decode_basic_authorization("Basic dTpwAA==") == std::nullopt);  // "u:p\0"
  CHECK(decode_basic_authorization("Basic dQA6cA==") == std::nullopt);  // "u\0:p"
}

TEST_CASE("bcrypt hashes are checked") {
  const std::string hash = bcrypt("right");
  CHECK(bcrypt_matches("right", hash));
  CHECK_FALSE(bcrypt_matches("wrong", hash));
  CHECK_FALSE(bcrypt_matches("right", "$2b$04$notahash"));
  CHECK(bcrypt_cost(hash) == 4);
  CHECK(bcrypt_cost("$2y$12$abc") == 12);
  CHECK(bcrypt_cost("secret") == 0);
}

TEST_CASE("an unknown user costs what the costliest configured user costs") {
  CHECK(bcrypt_cost(unknown_user_hash({})) == 4);
  const BasicAuthUsers users = {{"a", "$2y$05$" + std::string(53, 'a')},
                                {"b", "$2y$11$" + std::string(53, 'b')}};
  const std::string hash = unknown_user_hash(users);
  CHECK(hash.size() == 60);
  CHECK(hash.rfind("$2b$11$", 0) == 0);
  CHECK(hash != unknown_user_hash(users));  // a fresh salt each time
  // It is a hash bcrypt computes at that cost, which nothing matches.
  const std::string cheap = unknown_user_hash({{"a", bcrypt("x")}});
  CHECK_FALSE(bcrypt_matches("x", cheap));
  CHECK_FALSE(bcrypt_matches("", cheap));
}

// An Authenticator with a way to wait for its checks.
struct Checker {
  std::mutex mutex;
  std::condition_variable checked;
  int checks = 0;
  Authenticator authenticator{[this] {
    std::lock_guard lock(mutex);
    ++checks;
    checked.notify_all();
  }};
  std::vector<Authenticator::Outcome> wait_for(int count) {
    std::unique_lock lock(mutex);
    REQUIRE(checked.wait_for(lock, std::chrono::seconds(10), [&] { return checks >= count; }));
    lock.unlock();
    return authenticator.take_outcomes();
  }
};

TEST_CASE("checks run off the caller's thread, and each verdict is remembered") {
  Checker checker;
  Authenticator& authenticator = checker.authenticator;
  authenticator.set_users({{"alice", bcrypt("right")}});
  const auto now = Authenticator::Clock::now();
  CHECK(authenticator.check({"alice", "right"}, client(1), 1, now) == Verdict::kPending);
  CHECK(authenticator.check({"alice", "wrong"}, client(1), 2, now) == Verdict::kPending);
  CHECK(authenticator.check({"bob", "right"}, client(1), 3, now) == Verdict::kPending);
  const auto outcomes = checker.wait_for(3);
  REQUIRE(outcomes.size() == 3);
  CHECK((outcomes[0].ticket == 1 && outcomes[0].allowed));
  CHECK((outcomes[1].ticket == 2 && !outcomes[1].allowed));
  CHECK((outcomes[2].ticket == 3 && !outcomes[2].allowed));

  CHECK(authenticator.check({"alice", "right"}, client(2), 4, now) == Verdict::kAllowed);
  CHECK(authenticator.check({"alice", "wrong"}, client(2), 5, now) == Verdict::kDenied);
  CHECK(authenticator.check({"bob", "right"}, client(2), 6, now) == Verdict::kDenied);
}

TEST_CASE("a reload keeps the verdicts of users whose hash did not change") {
  Checker checker;
  Authenticator& authenticator = checker.authenticator;
  const std::string alice = bcrypt("a-pass");
  const std::string carol = bcrypt("c-pass");
  authenticator.set_users({{"alice", alice}, {"carol", carol}});
  const auto now = Authenticator::Clock::now();
  authenticator.check({"alice", "a-pass"}, client(1), 1, now);
  authenticator.check({"carol", "c-pass"}, client(1), 2, now);
  checker.wait_for(2);
  // carol's hash changes, alice's does not, dave is new.
  authenticator.set_users({{"alice", alice}, {"carol", bcrypt("c-new")}, {"dave", bcrypt("d")}});
  CHECK(authenticator.check({"alice", "a-pass"}, client(1), 3, now) == Verdict::kAllowed);
  CHECK(authenticator.check({"carol", "c-pass"}, client(1), 4, now) == Verdict::kPending);
  const auto outcomes = checker.wait_for(3);
  REQUIRE(outcomes.size() == 1);
  CHECK_FALSE(outcomes[0].allowed);
  // A user the reload removed is refused, remembered verdict or not.
  authenticator.set_users({{"carol", bcrypt("c-new")}});
  CHECK(authenticator.check({"alice", "a-pass"}, client(1), 5, now) == Verdict::kPending);
  CHECK_FALSE(checker.wait_for(4).at(0).allowed);
}

TEST_CASE("a flood of wrong passwords never evicts a verified credential") {
  Checker checker;
  Authenticator& authenticator = checker.authenticator;
  authenticator.set_users({{"alice", bcrypt("right")}});
  auto now = Authenticator::Clock::now();
  authenticator.check({"alice", "right"}, client(1), 1, now);
  checker.wait_for(1);
  // Far more distinct wrong guesses than any cache holds, from many addresses.
  int guesses = 0;
  for (int round = 0; round < 40; ++round) {
    for (std::uint8_t address = 10; address < 20; ++address) {
      const std::string guess = "wrong" + std::to_string(guesses);
      if (authenticator.check({"alice", guess}, client(address), 100 + guesses, now) ==
          Verdict::kPending) {
        ++guesses;
        checker.wait_for(1 + guesses);
      }
    }
    now += std::chrono::seconds(10);  // every address regains its allowance
  }
  CHECK(guesses > 300);
  CHECK(authenticator.check({"alice", "right"}, client(1), 2, now) == Verdict::kAllowed);
}

TEST_CASE("each address may start only so many checks; verified ones cost none") {
  // (A check turned away because the queue was full costs its token too.)
  Checker checker;
  Authenticator& authenticator = checker.authenticator;
  authenticator.set_users({{"alice", bcrypt("right")}});
  const auto now = Authenticator::Clock::now();
  const int burst = static_cast<int>(kPasswordCheckRate.burst);
  int pending = 0;
  for (int i = 0; i < burst; ++i) {
    const Verdict verdict = authenticator.check({"alice", "w" + std::to_string(i)}, client(1),
                                                static_cast<std::uint64_t>(i), now);
    CHECK((verdict == Verdict::kPending || verdict == Verdict::kBusy));
    if (verdict == Verdict::kPending) ++pending;
  }
  checker.wait_for(pending);
  CHECK(authenticator.check({"alice", "x"}, client(1), 99, now) == Verdict::kThrottled);
  CHECK(authenticator.retry_after(client(1), now) > std::chrono::milliseconds(500));
  // A repeated wrong password is answered from memory, throttled or not.
  CHECK(authenticator.check({"alice", "w0"}, client(1), 98, now) == Verdict::kDenied);
  // Another address is not held back, nor is the same one a second later.
  CHECK(authenticator.check({"alice", "x"}, client(2), 97, now) == Verdict::kPending);
  CHECK(authenticator.check({"alice", "y"}, client(1), 96, now + std::chrono::seconds(1)) ==
        Verdict::kPending);
  checker.wait_for(pending + 2);
  // The right password from a throttled address: checked once it may, then remembered.
  CHECK(authenticator.check({"alice", "right"}, client(1), 95, now + std::chrono::seconds(1)) ==
        Verdict::kThrottled);
  CHECK(authenticator.check({"alice", "right"}, client(1), 94, now + std::chrono::seconds(2)) ==
        Verdict::kPending);
  CHECK(checker.wait_for(pending + 3).at(0).allowed);
  CHECK(authenticator.check({"alice", "right"}, client(1), 93, now + std::chrono::seconds(2)) ==
        Verdict::kAllowed);
}

TEST_CASE("clients that verified before have checks reserved when the queue is full") {
  // A slow hash holds the checking thread so that the queue fills.
  Checker checker;
  Authenticator& authenticator = checker.authenticator;
  const std::string slow = bcrypt("right", 10);
  authenticator.set_users({{"alice", bcrypt("right")}, {"slow", slow}});
  const auto now = Authenticator::Clock::now();
  authenticator.check({"alice", "right"}, client(1), 1, now);
  checker.wait_for(1);
  // Fill the general queue from many addresses, each within its allowance.
  std::uint8_t address = 10;
  int queued = 0;
  while (authenticator.check({"slow", "guess" + std::to_string(queued)}, client(address), 10,
                             now) == Verdict::kPending) {
    ++queued;
    if (queued % 5 == 0) ++address;
  }
  CHECK(queued >= static_cast<int>(kMaxQueuedPasswordChecks));
  CHECK(authenticator.check({"alice", "other"}, client(address + 1), 11, now) == Verdict::kBusy);
  // alice's address verified before: its new check gets a reserved place.
  CHECK(authenticator.check({"alice", "changed"}, client(1), 12, now) == Verdict::kPending);
}

}  // namespace
}  // namespace execmond::http

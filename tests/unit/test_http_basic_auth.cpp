// SPDX-License-Identifier: Apache-2.0
#include <crypt.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "http/basic_auth.h"

namespace execmond::http {
namespace {

// bcrypt at the lowest cost, so that the test is fast.
std::string bcrypt(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  const char* hash = crypt_rn(password.c_str(), salt, &data, sizeof data);
  REQUIRE(hash != nullptr);
  return hash;
}

TEST_CASE("basic authorization headers are decoded") {
  const auto decoded = decode_basic_authorization("Basic YWxpY2U6czNjcjN0OndpdGg6Y29sb25z");
  REQUIRE(decoded);
  CHECK(decoded->user == "alice");
  CHECK(decoded->password == "s3cr3t:with:colons");
  CHECK(decode_basic_authorization("basic  dTo=")->password.empty());  // "u:", case, spaces
  CHECK(decode_basic_authorization("Basic dTpw")->user == "u");        // no padding
  CHECK_FALSE(decode_basic_authorization("Bearer dTpw"));
  CHECK_FALSE(decode_basic_authorization("Basic dXNlcg=="));  // "user": no colon
  CHECK_FALSE(decode_basic_authorization("Basic d!pw"));
  CHECK_FALSE(decode_basic_authorization("Basic"));
  CHECK_FALSE(decode_basic_authorization("Basic dTpwA"));  // 5 characters: not base64
}

TEST_CASE("bcrypt hashes are checked") {
  const std::string hash = bcrypt("right");
  CHECK(bcrypt_matches("right", hash));
  CHECK_FALSE(bcrypt_matches("wrong", hash));
  CHECK_FALSE(bcrypt_matches("right", "$2b$04$notahash"));
}

TEST_CASE("checks run off the caller's thread, and each verdict is cached") {
  std::mutex mutex;
  std::condition_variable checked;
  int checks = 0;
  Authenticator authenticator([&] {
    std::lock_guard lock(mutex);
    ++checks;
    checked.notify_all();
  });
  const Authenticator::Users users = {{"alice", bcrypt("right")}};
  const auto wait_for = [&](int count) {
    std::unique_lock lock(mutex);
    REQUIRE(checked.wait_for(lock, std::chrono::seconds(10), [&] { return checks >= count; }));
  };

  CHECK(authenticator.check(users, {"alice", "right"}, 1) == Authenticator::Verdict::kPending);
  CHECK(authenticator.check(users, {"alice", "wrong"}, 2) == Authenticator::Verdict::kPending);
  CHECK(authenticator.check(users, {"bob", "right"}, 3) == Authenticator::Verdict::kPending);
  wait_for(3);
  const auto outcomes = authenticator.take_outcomes();
  REQUIRE(outcomes.size() == 3);
  CHECK((outcomes[0].ticket == 1 && outcomes[0].allowed));
  CHECK((outcomes[1].ticket == 2 && !outcomes[1].allowed));
  CHECK((outcomes[2].ticket == 3 && !outcomes[2].allowed));

  CHECK(authenticator.check(users, {"alice", "right"}, 4) == Authenticator::Verdict::kAllowed);
  CHECK(authenticator.check(users, {"alice", "wrong"}, 5) == Authenticator::Verdict::kDenied);
  CHECK(authenticator.check(users, {"bob", "right"}, 6) == Authenticator::Verdict::kDenied);
  // A changed hash is a new question.
  const Authenticator::Users changed = {{"alice", bcrypt("other")}};
  CHECK(authenticator.check(changed, {"alice", "right"}, 7) == Authenticator::Verdict::kPending);
  authenticator.forget();
  CHECK(authenticator.check(users, {"alice", "right"}, 8) == Authenticator::Verdict::kPending);
}

}  // namespace
}  // namespace execmond::http

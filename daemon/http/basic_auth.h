// SPDX-License-Identifier: Apache-2.0
// HTTP basic authentication against bcrypt hashes. bcrypt is slow on purpose (tens to
// hundreds of milliseconds a check), so checks run on a thread of their own, never on the
// event loop, and each (user, password, hash) is checked once: later requests with the
// same credentials are answered from a cache in microseconds.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace execmond::http {

struct Credentials {
  std::string user;
  std::string password;
};

// "Basic dXNlcjpwYXNz" -> {user, pass}; nullopt for another scheme or bad base64.
std::optional<Credentials> decode_basic_authorization(std::string_view header_value);

// Whether `password` hashes to `hash` (bcrypt, through libxcrypt), compared in constant time.
bool bcrypt_matches(const std::string& password, const std::string& hash);

class Authenticator {
 public:
  using Users = std::map<std::string, std::string>;  // user -> bcrypt hash
  enum class Verdict { kAllowed, kDenied, kPending, kBusy };
  struct Outcome {
    std::uint64_t ticket;
    bool allowed;
  };

  // `on_checked` is called from the checking thread after each check: wake the loop.
  explicit Authenticator(std::function<void()> on_checked);
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // From the event loop. kPending: the answer comes from take_outcomes() under `ticket`.
  // kBusy: too many checks queued (a flood of wrong passwords); the client should retry.
  Verdict check(const Users& users, const Credentials& credentials, std::uint64_t ticket);
  // Finished checks since the last call; caches their verdicts.
  std::vector<Outcome> take_outcomes();
  // After a reload: the users and their hashes may have changed.
  void forget();

 private:
  using Digest = std::array<unsigned char, 32>;
  struct DigestHash {
    std::size_t operator()(const Digest& digest) const;
  };
  struct Job {
    std::uint64_t ticket;
    Digest digest;
    std::string password;
    std::string hash;
    bool known_user;
  };
  struct Done {
    std::uint64_t ticket;
    Digest digest;
    bool allowed;
  };

  Digest digest_of(const Credentials& credentials, const std::string& hash) const;
  void run();

  std::array<unsigned char, 16> salt_{};
  std::unordered_map<Digest, bool, DigestHash> verdicts_;  // the loop's own

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  std::vector<Done> done_;
  bool stopping_ = false;
  std::function<void()> on_checked_;
  std::thread thread_;
};

}  // namespace execmond::http

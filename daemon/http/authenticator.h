// SPDX-License-Identifier: Apache-2.0
// Who may read /metrics with basic auth, decided off the event loop. bcrypt is slow on
// purpose (tens to hundreds of milliseconds a check), so checks run on a thread of their
// own, and each (user, password, hash) is checked once. What a flood of wrong passwords
// can cost the scraper is bounded three ways:
// - a verified credential is remembered apart from failed guesses: no number of guesses
//   (nor a reload that keeps the user's hash) makes the scraper's verdict go;
// - each client address may start only so many new checks (ClientThrottle), the rest
//   answered 429 without bcrypt;
// - clients that verified before have checks reserved for them in the queue.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "http/basic_auth.h"
#include "http/client_address.h"
#include "http/client_throttle.h"

namespace execmond::http {

class Authenticator {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict {
    kAllowed,
    kDenied,
    kPending,    // the answer comes from take_outcomes() under the ticket
    kBusy,       // too many checks queued: retry
    kThrottled,  // this client started too many checks lately: retry later
  };
  struct Outcome {
    std::uint64_t ticket;
    bool allowed;
  };

  // `on_checked` is called from the checking thread after each check: wake the loop.
  explicit Authenticator(std::function<void()> on_checked);
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // The users (at start and on every reload): remembered verdicts of users whose hash did
  // not change are kept, the others dropped; unknown users are checked against a hash as
  // costly as the costliest user's.
  void set_users(const BasicAuthUsers& users);

  // From the event loop.
  Verdict check(const Credentials& credentials, const ClientAddress::Key& client,
                std::uint64_t ticket, Clock::time_point now);
  // Finished checks since the last call; remembers their verdicts.
  std::vector<Outcome> take_outcomes();
  // How long a throttled client should wait (Retry-After).
  Clock::duration retry_after(const ClientAddress::Key& client, Clock::time_point now) const;
  // Forgets what no longer matters (clients back to a full allowance).
  void prune(Clock::time_point now);

 private:
  using Digest = std::array<unsigned char, 32>;
  struct DigestHash {
    std::size_t operator()(const Digest& digest) const;
  };
  struct Verified {
    std::string user;
    std::string hash;
    Clock::time_point used;
  };
  struct Job {
    std::uint64_t ticket;
    Digest digest;
    std::string user;
    std::string password;
    std::string hash;
    bool known_user;
    ClientAddress::Key client;
  };
  struct Done {
    std::uint64_t ticket;
    Digest digest;
    std::string user;
    std::string hash;
    bool allowed;
    ClientAddress::Key client;
  };

  Digest digest_of(const Credentials& credentials, const std::string& hash) const;
  void remember_verified(const Done& check, Clock::time_point now);
  void run();

  std::array<unsigned char, 16> salt_{};
  // The loop's own.
  BasicAuthUsers users_;
  std::string unknown_user_hash_;
  std::unordered_map<Digest, Verified, DigestHash> verified_;
  std::unordered_set<Digest, DigestHash> refused_;
  std::unordered_map<ClientAddress::Key, Clock::time_point, ClientAddress::Hash> trusted_;
  ClientThrottle attempts_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> reserved_queue_;  // from clients that verified before: served first
  std::deque<Job> queue_;
  std::vector<Done> done_;
  bool stopping_ = false;
  std::function<void()> on_checked_;
  std::thread thread_;
};

}  // namespace execmond::http

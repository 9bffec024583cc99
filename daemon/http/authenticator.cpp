// SPDX-License-Identifier: Apache-2.0
#include "http/authenticator.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "http/limits.h"

namespace execmond::http {
namespace {

// Verified credentials remembered: one a user and password is plenty; more only when
// several scrapers use several passwords. Only a correct password can add one.
constexpr std::size_t kMaxVerified = 256;
// Failed guesses remembered, so that a repeated wrong password costs no bcrypt; the set
// starts afresh when full, which costs only checks, never a good verdict.
constexpr std::size_t kMaxRefused = 4096;
// Client addresses that verified before, for the reserved checks.
constexpr std::size_t kMaxTrusted = 256;

struct FreeDigestContext {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

}  // namespace

std::size_t Authenticator::DigestHash::operator()(const Digest& digest) const {
  std::size_t value;
  std::memcpy(&value, digest.data(), sizeof value);
  return value;
}

Authenticator::Authenticator(std::function<void()> on_checked)
    : unknown_user_hash_(unknown_user_hash({})),
      attempts_(kPasswordCheckRate, kMaxThrottledClients),
      on_checked_(std::move(on_checked)) {
  // A per-process salt: the cache holds no password, nor a digest comparable elsewhere.
  if (RAND_bytes(salt_.data(), static_cast<int>(salt_.size())) != 1) {
    throw std::runtime_error("cannot draw random bytes for basic auth (RAND_bytes failed)");
  }
  thread_ = std::thread([this] { run(); });
}

Authenticator::~Authenticator() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Authenticator::set_users(const BasicAuthUsers& users) {
  for (auto it = verified_.begin(); it != verified_.end();) {
    const auto user = users.find(it->second.user);
    const bool unchanged = user != users.end() && user->second == it->second.hash;
    it = unchanged ? std::next(it) : verified_.erase(it);
  }
  // A refusal stays right while the hash is the same (the digest includes it), but a
  // user added with that hash would make it wrong: start afresh, it costs only checks.
  refused_.clear();
  users_ = users;
  unknown_user_hash_ = unknown_user_hash(users);
}

Authenticator::Digest Authenticator::digest_of(const Credentials& credentials,
                                               const std::string& hash) const {
  Digest digest{};
  const std::unique_ptr<EVP_MD_CTX, FreeDigestContext> context(EVP_MD_CTX_new());
  const auto update = [&context](const void* data, std::size_t size) {
    return EVP_DigestUpdate(context.get(), data, size) == 1;
  };
  // NUL-separated: "ab"+"c" and "a"+"bc" differ (decoding refuses a NUL in either).
  const bool done = context && EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) == 1 &&
                    update(salt_.data(), salt_.size()) &&
                    update(credentials.user.data(), credentials.user.size()) && update("", 1) &&
                    update(credentials.password.data(), credentials.password.size()) &&
                    update("", 1) && update(hash.data(), hash.size()) &&
                    EVP_DigestFinal_ex(context.get(), digest.data(), nullptr) == 1;
  if (!done) throw std::runtime_error("basic auth: SHA-256 through OpenSSL failed");
  return digest;
}

Authenticator::Verdict Authenticator::check(const Credentials& credentials,
                                            const ClientAddress::Key& client, std::uint64_t ticket,
                                            Clock::time_point now) {
  const auto user = users_.find(credentials.user);
  const bool known_user = user != users_.end();
  const std::string& hash = known_user ? user->second : unknown_user_hash_;
  const Digest digest = digest_of(credentials, hash);
  if (const auto found = verified_.find(digest); found != verified_.end()) {
    found->second.used = now;
    return Verdict::kAllowed;
  }
  if (refused_.count(digest) != 0) return Verdict::kDenied;
  if (!attempts_.take(client, now)) return Verdict::kThrottled;
  Job job{ticket, digest, credentials.user, credentials.password, hash, known_user, client};
  {
    std::lock_guard lock(mutex_);
    const bool reserved = trusted_.count(client) != 0;
    std::deque<Job>& queue = reserved ? reserved_queue_ : queue_;
    // The token stays spent: a client that finds the queue full is flooding it, or
    // unlucky once.
    if (queue.size() >= (reserved ? kReservedPasswordChecks : kMaxQueuedPasswordChecks)) {
      return Verdict::kBusy;
    }
    queue.push_back(std::move(job));
  }
  wake_.notify_one();
  return Verdict::kPending;
}

void Authenticator::remember_verified(const Done& check, Clock::time_point now) {
  if (verified_.size() >= kMaxVerified) {
    // The least recently used goes: a scraper uses its verdict every scrape.
    verified_.erase(std::min_element(
        verified_.begin(), verified_.end(),
        [](const auto& a, const auto& b) { return a.second.used < b.second.used; }));
  }
  verified_[check.digest] = Verified{check.user, check.hash, now};
  if (trusted_.size() >= kMaxTrusted && trusted_.count(check.client) == 0) {
    trusted_.erase(
        std::min_element(trusted_.begin(), trusted_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
  trusted_[check.client] = now;
}

std::vector<Authenticator::Outcome> Authenticator::take_outcomes() {
  std::vector<Done> done;
  {
    std::lock_guard lock(mutex_);
    done.swap(done_);
  }
  const Clock::time_point now = Clock::now();
  std::vector<Outcome> outcomes;
  outcomes.reserve(done.size());
  for (const Done& check : done) {
    // A verdict for a hash a reload has replaced meanwhile answers its request, but is
    // not remembered.
    const auto user = users_.find(check.user);
    const bool current = check.allowed ? user != users_.end() && user->second == check.hash
                                       : check.hash == unknown_user_hash_ ||
                                             (user != users_.end() && user->second == check.hash);
    if (check.allowed) {
      // The right password costs its client nothing of its allowance.
      attempts_.give_back(check.client);
      if (current) remember_verified(check, now);
    } else if (current) {
      if (refused_.size() >= kMaxRefused) refused_.clear();
      refused_.insert(check.digest);
    }
    outcomes.push_back({check.ticket, check.allowed});
  }
  return outcomes;
}

Authenticator::Clock::duration Authenticator::retry_after(const ClientAddress::Key& client,
                                                          Clock::time_point now) const {
  return attempts_.wait(client, now);
}

void Authenticator::prune(Clock::time_point now) { attempts_.prune(now); }

void Authenticator::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !reserved_queue_.empty() || !queue_.empty(); });
    if (stopping_) return;
    std::deque<Job>& queue = reserved_queue_.empty() ? queue_ : reserved_queue_;
    Job job = std::move(queue.front());
    queue.pop_front();
    lock.unlock();
    const bool allowed = bcrypt_matches(job.password, job.hash) && job.known_user;
    OPENSSL_cleanse(job.password.data(), job.password.size());
    lock.lock();
    done_.push_back(Done{job.ticket, job.digest, std::move(job.user), std::move(job.hash), allowed,
                         job.client});
    lock.unlock();
    on_checked_();
    lock.lock();
  }
}

}  // namespace execmond::http

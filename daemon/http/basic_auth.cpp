// SPDX-License-Identifier: Apache-2.0
#include "http/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <cstring>
#include <memory>

namespace execmond::http {
namespace {

// More than this many checks waiting: answer 503 rather than queue seconds of bcrypt.
constexpr std::size_t kMaxQueuedChecks = 16;
// Verdicts remembered; the cache starts afresh when full (a flood of distinct passwords).
constexpr std::size_t kMaxCachedVerdicts = 1024;
// Checked when the user does not exist, so that a wrong user takes as long as a wrong
// password and user names cannot be probed by timing. A real bcrypt hash, cost 10.
constexpr const char* kUnknownUserHash =
    "$2b$10$execmondunknownuser00uy5aYwMbD1mnB/chQ1hAkFGlOC61crpG";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> decode_base64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string decoded;
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    const int value = base64_value(c);
    if (value < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      decoded += static_cast<char>((bits >> count) & 0xFF);
    }
  }
  return decoded;
}

}  // namespace

std::optional<Credentials> decode_basic_authorization(std::string_view value) {
  constexpr std::string_view kScheme = "basic ";
  if (value.size() < kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return std::nullopt;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  const auto decoded = decode_base64(value);
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

bool bcrypt_matches(const std::string& password, const std::string& hash) {
  // crypt_data is 32 KiB: on the heap, not the stack.
  auto data = std::make_unique<crypt_data>();
  const char* computed = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof *data);
  if (computed == nullptr || std::strlen(computed) != hash.size()) return false;
  return CRYPTO_memcmp(computed, hash.data(), hash.size()) == 0;
}

std::size_t Authenticator::DigestHash::operator()(const Digest& digest) const {
  std::size_t value;
  std::memcpy(&value, digest.data(), sizeof value);
  return value;
}

Authenticator::Authenticator(std::function<void()> on_checked)
    : on_checked_(std::move(on_checked)) {
  // A per-process salt: the cache holds no password, nor a digest comparable elsewhere.
  RAND_bytes(salt_.data(), static_cast<int>(salt_.size()));
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

Authenticator::Digest Authenticator::digest_of(const Credentials& credentials,
                                               const std::string& hash) const {
  Digest digest{};
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
  EVP_DigestUpdate(context, salt_.data(), salt_.size());
  // NUL-separated: "ab"+"c" and "a"+"bc" differ (a user name holds no NUL from base64
  // decoding that would matter: the hash is last and fixed-length).
  EVP_DigestUpdate(context, credentials.user.data(), credentials.user.size());
  EVP_DigestUpdate(context, "", 1);
  EVP_DigestUpdate(context, credentials.password.data(), credentials.password.size());
  EVP_DigestUpdate(context, "", 1);
  EVP_DigestUpdate(context, hash.data(), hash.size());
  EVP_DigestFinal_ex(context, digest.data(), nullptr);
  EVP_MD_CTX_free(context);
  return digest;
}

Authenticator::Verdict Authenticator::check(const Users& users, const Credentials& credentials,
                                            std::uint64_t ticket) {
  const auto user = users.find(credentials.user);
  const std::string hash = user == users.end() ? kUnknownUserHash : user->second;
  const Digest digest = digest_of(credentials, hash);
  const auto cached = verdicts_.find(digest);
  if (cached != verdicts_.end()) {
    return cached->second && user != users.end() ? Verdict::kAllowed : Verdict::kDenied;
  }
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= kMaxQueuedChecks) return Verdict::kBusy;
    queue_.push_back(Job{ticket, digest, credentials.password, hash, user != users.end()});
  }
  wake_.notify_one();
  return Verdict::kPending;
}

std::vector<Authenticator::Outcome> Authenticator::take_outcomes() {
  std::vector<Done> done;
  {
    std::lock_guard lock(mutex_);
    done.swap(done_);
  }
  std::vector<Outcome> outcomes;
  for (const Done& check : done) {
    if (verdicts_.size() >= kMaxCachedVerdicts) verdicts_.clear();
    verdicts_[check.digest] = check.allowed;
    outcomes.push_back({check.ticket, check.allowed});
  }
  return outcomes;
}

void Authenticator::forget() { verdicts_.clear(); }

void Authenticator::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    const bool allowed = bcrypt_matches(job.password, job.hash) && job.known_user;
    OPENSSL_cleanse(job.password.data(), job.password.size());
    lock.lock();
    done_.push_back(Done{job.ticket, job.digest, allowed});
    lock.unlock();
    on_checked_();
    lock.lock();
  }
}

}  // namespace execmond::http

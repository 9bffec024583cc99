// SPDX-License-Identifier: Apache-2.0
#include "http/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace execmond::http {
namespace {

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
// bcrypt's own base64 alphabet, for the salt.
constexpr std::string_view kBcryptAlphabet =
    "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// RFC 4648 base64 with its padding, decoded by OpenSSL. EVP_DecodeBlock skips blanks and
// counts padding as zero bytes, so the shape is checked first and the padding taken off.
std::optional<std::string> decode_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  const std::size_t padding = text.size() - (text.find_last_not_of('=') + 1);
  if (padding > 2) return std::nullopt;
  const std::string_view digits = text.substr(0, text.size() - padding);
  if (digits.find_first_not_of(kBase64Alphabet) != std::string_view::npos) return std::nullopt;
  std::string decoded(text.size() / 4 * 3, '\0');
  const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                     reinterpret_cast<const unsigned char*>(text.data()),
                                     static_cast<int>(text.size()));
  if (length < 0 || static_cast<std::size_t>(length) != decoded.size()) return std::nullopt;
  decoded.resize(decoded.size() - padding);
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
  auto decoded = decode_base64(value);
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos || decoded->find('\0') != std::string::npos) {
    OPENSSL_cleanse(decoded->data(), decoded->size());
    return std::nullopt;
  }
  Credentials credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
  OPENSSL_cleanse(decoded->data(), decoded->size());
  return credentials;
}

bool bcrypt_matches(const std::string& password, const std::string& hash) {
  // crypt_data is 32 KiB: on the heap, not the stack.
  auto data = std::make_unique<crypt_data>();
  const char* computed = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof *data);
  const bool matches = computed != nullptr && std::strlen(computed) == hash.size() &&
                       CRYPTO_memcmp(computed, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof *data);
  return matches;
}

int bcrypt_cost(std::string_view hash) {
  if (hash.size() < 7 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' ||
      !std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5])) || hash[6] != '$') {
    return 0;
  }
  return (hash[4] - '0') * 10 + (hash[5] - '0');
}

std::string unknown_user_hash(const BasicAuthUsers& users) {
  int cost = 4;
  for (const auto& [user, hash] : users) cost = std::max(cost, bcrypt_cost(hash));
  std::array<unsigned char, 53> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    throw std::runtime_error("cannot draw random bytes for a bcrypt salt (RAND_bytes failed)");
  }
  std::string hash = "$2b$";
  hash += static_cast<char>('0' + cost / 10);
  hash += static_cast<char>('0' + cost % 10);
  hash += '$';
  for (const unsigned char byte : random) hash += kBcryptAlphabet[byte % kBcryptAlphabet.size()];
  return hash;
}

}  // namespace execmond::http

// SPDX-License-Identifier: Apache-2.0
// HTTP basic authentication (RFC 7617) against bcrypt hashes: the pure parts. Who checks
// when, and what is remembered, is the Authenticator's (authenticator.h).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace execmond::http {

// user -> bcrypt hash ($2a$, $2b$ or $2y$).
using BasicAuthUsers = std::map<std::string, std::string>;

struct Credentials {
  std::string user;
  std::string password;
};

// "Basic dXNlcjpwYXNz" -> {user, pass}; nullopt for another scheme, base64 that is not
// canonical (padded, RFC 4648 alphabet, as Go's net/http requires), no colon, or a NUL
// byte, which bcrypt would silently cut the password at.
std::optional<Credentials> decode_basic_authorization(std::string_view header_value);

// Whether `password` hashes to `hash` (bcrypt, through libxcrypt), compared in constant time.
bool bcrypt_matches(const std::string& password, const std::string& hash);

// The cost of a bcrypt hash ("$2y$10$..." -> 10); 0 if it is not one.
int bcrypt_cost(std::string_view hash);

// What a user who does not exist is checked against, so that a wrong user name takes as
// long as a wrong password and names cannot be probed by timing: a random salt at the
// highest cost among `users` (at least 4, bcrypt's lowest), which no password matches
// since the rest of the hash is not bcrypt's output.
std::string unknown_user_hash(const BasicAuthUsers& users);

}  // namespace execmond::http

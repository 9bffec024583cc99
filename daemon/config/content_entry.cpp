// SPDX-License-Identifier: Apache-2.0
#include "config/content_entry.h"

namespace execmond {

bool is_sha256_entry(std::string_view entry) {
  return entry.substr(0, kSha256EntryPrefix.size()) == kSha256EntryPrefix;
}

std::optional<std::string> sha256_entry_error(std::string_view entry) {
  const std::string_view hex = entry.substr(kSha256EntryPrefix.size());
  if (hex.size() != 64) {
    return "a sha256: entry needs 64 hex digits after \"sha256:\" (sha256sum prints them), "
           "this one has " +
           std::to_string(hex.size());
  }
  for (std::size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return "a sha256: entry holds only hex digits 0-9 and a-f after \"sha256:\", character " +
             std::to_string(kSha256EntryPrefix.size() + i + 1) + " is not one";
    }
  }
  return std::nullopt;
}

}  // namespace execmond

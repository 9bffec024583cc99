// SPDX-License-Identifier: Apache-2.0
// `sha256:<hex>` entries of `binaries: allow:`: a file's content rather than its path.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace execmond {

inline constexpr std::string_view kSha256EntryPrefix = "sha256:";

bool is_sha256_entry(std::string_view entry);
// Why `entry` (which starts with "sha256:") is not one, or nullopt if it is: exactly 64
// hex digits follow, as sha256sum prints them (either case).
std::optional<std::string> sha256_entry_error(std::string_view entry);

}  // namespace execmond

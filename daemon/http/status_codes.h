// SPDX-License-Identifier: Apache-2.0
// Every HTTP status the endpoint sends, in one table: the reason phrase a response's status
// line carries and the slot execmond_http_responses_total counts it in come from the same
// row, so a new status cannot be sent without being counted.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace execmond::http {

struct StatusCode {
  int code;
  std::string_view reason;
};

inline constexpr StatusCode kStatusCodes[] = {
    {200, "OK"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {413, "Content Too Large"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {503, "Service Unavailable"},
    {505, "HTTP Version Not Supported"},
};
inline constexpr std::size_t kStatusCount = std::size(kStatusCodes);

// The row of `code` in kStatusCodes; nullopt for a status the endpoint never sends.
constexpr std::optional<std::size_t> status_index(int code) {
  for (std::size_t i = 0; i < kStatusCount; ++i) {
    if (kStatusCodes[i].code == code) return i;
  }
  return std::nullopt;
}

constexpr std::string_view reason_phrase(int code) {
  const auto index = status_index(code);
  return index ? kStatusCodes[*index].reason : std::string_view("Unknown");
}

}  // namespace execmond::http

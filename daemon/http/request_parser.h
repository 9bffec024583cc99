// SPDX-License-Identifier: Apache-2.0
// An HTTP/1.x request head, parsed from the bytes received so far, however reads split
// them. Only what the endpoint needs is kept, and whatever RFC 9112 forbids is refused
// (as picohttpparser and h2o refuse it): a request that two parsers could read two ways
// never reaches the routing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace execmond::http {

enum class Method { kGet, kHead, kOther };

struct Request {
  Method method = Method::kOther;
  std::string path;  // without the query string
  bool keep_alive = true;
  bool accepts_gzip = false;
  std::string accept;  // the Accept header(s), joined with ", ": which exposition format
  std::optional<std::string> authorization;
};

struct ParsedHead {
  enum class Status {
    kIncomplete,          // no blank line yet: read more
    kComplete,            // `request` is set; `length` bytes of the buffer were the head
    kBadRequest,          // 400
    kTooLarge,            // 431: no blank line within kMaxRequestHead bytes
    kBodyRefused,         // 413: this endpoint takes no request body
    kVersionUnsupported,  // 505
  };
  Status status = Status::kIncomplete;
  Request request;
  std::size_t length = 0;
  // kIncomplete: how far the search for the head's end got. Passed back with the same
  // bytes and more, the next call starts there, so a head that arrives a byte at a time
  // costs linear time, not quadratic (picohttpparser's `last_len`).
  std::size_t scanned = 0;
};

// Parses the request head at the start of `received`. Bytes after the head (a pipelined
// request) are left for the next call. `scanned`: the previous call's hint for the same
// buffer, or 0.
ParsedHead parse_request_head(std::string_view received, std::size_t scanned = 0);

// Whether an Accept-Encoding value accepts gzip: "gzip", "deflate, gzip;q=0.5", not
// "gzip;q=0".
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace execmond::http

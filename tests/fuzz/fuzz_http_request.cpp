// SPDX-License-Identifier: Apache-2.0
// The HTTP request-head parser, fed what a client sends, split as reads split it: the
// verdict on a complete head must not depend on where the bytes were cut, nor on the
// rescan hint a connection passes back between reads.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/request_parser.h"

using execmond::http::parse_request_head;
using execmond::http::ParsedHead;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view received(reinterpret_cast<const char*>(data), size);
  const ParsedHead whole = parse_request_head(received);
  if (whole.status == ParsedHead::Status::kComplete) {
    if (whole.length == 0 || whole.length > received.size()) std::abort();
    // A pipelined request after this one: the next call starts where this head ended.
    parse_request_head(received.substr(whole.length));
  }
  // The endpoint parses again after each read: every prefix of a complete head is
  // incomplete or already decided the same way.
  if (whole.status == ParsedHead::Status::kComplete && whole.length < 512) {
    for (std::size_t cut = 0; cut < whole.length; ++cut) {
      const ParsedHead part = parse_request_head(received.substr(0, cut));
      if (part.status == ParsedHead::Status::kComplete && part.length > cut) std::abort();
    }
  }
  // The same bytes a few at a time, each call resuming from the last one's rescan hint
  // (as a connection does): the same verdict, and the hint never past what was given.
  if (size <= 4096) {
    std::size_t scanned = 0;
    ParsedHead fed;
    for (std::size_t cut = 0; cut <= size; cut += 1 + cut % 7) {
      fed = parse_request_head(received.substr(0, cut), scanned);
      if (fed.status != ParsedHead::Status::kIncomplete) break;
      if (fed.scanned > cut) std::abort();
      scanned = fed.scanned;
    }
    if (fed.status == ParsedHead::Status::kIncomplete) {
      fed = parse_request_head(received, scanned);
    }
    if (whole.status == ParsedHead::Status::kComplete &&
        (fed.status != whole.status || fed.length != whole.length)) {
      std::abort();
    }
  }
  execmond::http::accepts_gzip(received);
  return 0;
}

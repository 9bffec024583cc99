// SPDX-License-Identifier: Apache-2.0
#include "http/request_parser.h"

#include <algorithm>
#include <cctype>

#include "http/limits.h"

namespace execmond::http {
namespace {

using Status = ParsedHead::Status;

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

// RFC 9110 token characters.
bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// Calls `visit` with each trimmed, non-empty element of a comma-separated header value.
template <typename Visit>
void for_each_element(std::string_view value, Visit visit) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    const std::string_view element = trim(value.substr(0, comma));
    if (!element.empty()) visit(element);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// The end of the head (just past its blank line) and whether lines end in CRLF or LF.
std::size_t head_end(std::string_view received) {
  for (std::size_t i = received.find('\n'); i != std::string_view::npos;
       i = received.find('\n', i + 1)) {
    if (i + 1 < received.size() && received[i + 1] == '\n') return i + 2;
    if (i + 2 < received.size() && received[i + 1] == '\r' && received[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

Status parse_request_line(std::string_view line, Request& request, bool& http11) {
  const auto first_space = line.find(' ');
  const auto last_space = line.rfind(' ');
  if (first_space == std::string_view::npos || first_space == last_space)
    return Status::kBadRequest;
  const std::string_view method = line.substr(0, first_space);
  std::string_view target = line.substr(first_space + 1, last_space - first_space - 1);
  const std::string_view version = line.substr(last_space + 1);
  if (!is_token(method) || target.empty() || target.find(' ') != std::string_view::npos) {
    return Status::kBadRequest;
  }
  if (version == "HTTP/1.1") {
    http11 = true;
  } else if (version == "HTTP/1.0") {
    http11 = false;
  } else if (version.substr(0, 5) == "HTTP/" && version.size() > 5 &&
             std::isdigit(static_cast<unsigned char>(version[5]))) {
    return Status::kVersionUnsupported;
  } else {
    return Status::kBadRequest;
  }
  request.method = method == "GET"    ? Method::kGet
                   : method == "HEAD" ? Method::kHead
                                      : Method::kOther;
  // Absolute form ("http://host/metrics"), as proxies send it.
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (target.size() > scheme.size() &&
        equals_ignoring_case(target.substr(0, scheme.size()), scheme)) {
      const auto slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  if (target.front() != '/' && target != "*") return Status::kBadRequest;
  request.path = std::string(target.substr(0, target.find_first_of("?#")));
  request.keep_alive = http11;
  return Status::kComplete;
}

Status parse_header(std::string_view line, Request& request) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return Status::kBadRequest;
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = trim(line.substr(colon + 1));
  // No space before the colon, no folded lines (RFC 9112 5.1, 5.2).
  if (!is_token(name)) return Status::kBadRequest;
  if (equals_ignoring_case(name, "Connection")) {
    for_each_element(value, [&request](std::string_view option) {
      if (equals_ignoring_case(option, "close")) request.keep_alive = false;
      if (equals_ignoring_case(option, "keep-alive")) request.keep_alive = true;
    });
  } else if (equals_ignoring_case(name, "Accept-Encoding")) {
    request.accepts_gzip = request.accepts_gzip || accepts_gzip(value);
  } else if (equals_ignoring_case(name, "Accept")) {
    if (!request.accept.empty()) request.accept += ", ";
    request.accept += value;
  } else if (equals_ignoring_case(name, "Authorization")) {
    if (request.authorization) return Status::kBadRequest;
    request.authorization = std::string(value);
  } else if (equals_ignoring_case(name, "Content-Length")) {
    if (value.empty() || value.find_first_not_of("0123456789") != std::string_view::npos) {
      return Status::kBadRequest;
    }
    if (value.find_first_not_of('0') != std::string_view::npos) return Status::kBodyRefused;
  } else if (equals_ignoring_case(name, "Transfer-Encoding")) {
    return Status::kBodyRefused;
  }
  return Status::kComplete;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  bool accepted = false;
  for_each_element(accept_encoding, [&accepted](std::string_view element) {
    const auto semicolon = element.find(';');
    if (!equals_ignoring_case(trim(element.substr(0, semicolon)), "gzip")) return;
    accepted = true;
    if (semicolon == std::string_view::npos) return;
    const std::string_view parameter = trim(element.substr(semicolon + 1));
    if (parameter.size() >= 2 && (parameter[0] == 'q' || parameter[0] == 'Q') &&
        parameter[1] == '=') {
      const std::string_view weight = trim(parameter.substr(2));
      // q=0, q=0.0, q=0.000: refused.
      accepted = weight.find_first_not_of("0.") != std::string_view::npos;
    }
  });
  return accepted;
}

ParsedHead parse_request_head(std::string_view received) {
  ParsedHead parsed;
  // A client may send blank lines before a request (RFC 9112 2.2).
  const std::size_t leading = std::min(received.find_first_not_of("\r\n"), received.size());
  const std::size_t end = head_end(received.substr(leading));
  if (end == std::string_view::npos) {
    parsed.status = received.size() >= kMaxRequestHead ? Status::kTooLarge : Status::kIncomplete;
    return parsed;
  }
  if (leading + end > kMaxRequestHead) {
    parsed.status = Status::kTooLarge;
    return parsed;
  }
  std::string_view head = received.substr(leading, end);
  bool first_line = true;
  bool http11 = true;
  while (!head.empty()) {
    const auto newline = head.find('\n');
    std::string_view line = head.substr(0, newline);
    head.remove_prefix(newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if (line.find('\0') != std::string_view::npos) parsed.status = Status::kBadRequest;
    if (parsed.status == Status::kIncomplete) {
      const Status status = first_line ? parse_request_line(line, parsed.request, http11)
                                       : parse_header(line, parsed.request);
      if (status != Status::kComplete) parsed.status = status;
    }
    first_line = false;
  }
  if (parsed.status == Status::kIncomplete) parsed.status = Status::kComplete;
  parsed.length = leading + end;
  return parsed;
}

}  // namespace execmond::http

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

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         equals_ignoring_case(text.substr(0, prefix.size()), prefix);
}

// Optional whitespace (RFC 9110 5.6.3): spaces and tabs.
std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool is_one_of(char c, std::string_view set) { return set.find(c) != std::string_view::npos; }

// RFC 9110 5.6.2 token characters.
bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return is_alnum(c) || is_one_of(c, "!#$%&'*+-.^_`|~");
  });
}

// RFC 9110 5.5: a field value holds visible characters, spaces, tabs and obs-text; every
// other control character (NUL, CR, LF, DEL, ...) is refused rather than passed on.
bool is_field_value(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7F);
  });
}

// RFC 3986 characters, with a percent always followed by two hex digits: `extra` adds to
// unreserved and sub-delims what the component allows (":@/?" in a path and query).
bool is_uri_component(std::string_view text, std::string_view extra) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2])) return false;
      i += 2;
    } else if (!is_alnum(c) && !is_one_of(c, "-._~!$&'()*+,;=") && !is_one_of(c, extra)) {
      return false;
    }
  }
  return true;
}

// uri-host [":" port] (RFC 9110 7.2, RFC 3986 3.2.2): a registered name or IPv4 address,
// or an IP literal in brackets. Empty is allowed in Host (a URI without authority).
bool is_authority(std::string_view authority) {
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    const std::string_view literal = authority.substr(1, close - 1);
    if (!std::all_of(literal.begin(), literal.end(),
                     [](char c) { return is_hex(c) || is_one_of(c, ":."); })) {
      return false;
    }
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    port = rest.empty() ? rest : rest.substr(1);
  } else {
    const auto colon = authority.rfind(':');
    const std::string_view host = authority.substr(0, colon);
    if (!is_uri_component(host, "")) return false;
    port = colon == std::string_view::npos ? std::string_view() : authority.substr(colon + 1);
  }
  return std::all_of(port.begin(), port.end(), is_digit);
}

// A query: path characters and "?", and brackets, which browsers and curl leave as they
// are ("collect[]=cpu") although RFC 3986 reserves them.
bool is_query(std::string_view query) { return is_uri_component(query, ":@/?[]"); }

// The path and query of an origin-form target: "/" then path characters, then maybe "?"
// and a query. A fragment ("#") is never part of a request target.
bool is_origin_form(std::string_view target) {
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  return !path.empty() && path.front() == '/' && is_uri_component(path, ":@/") &&
         (question == std::string_view::npos || is_query(target.substr(question + 1)));
}

// The path of the request target, "/metrics" of "/metrics?x" or of
// "http://host:9717/metrics" (absolute form, which RFC 9112 3.2.2 says a server must
// accept); nullopt for a target this endpoint cannot serve: another scheme, user info,
// authority form, bytes outside RFC 3986.
std::optional<std::string_view> target_path(std::string_view target, std::string_view method) {
  if (target == "*") {
    if (method == "OPTIONS") return target;  // asterisk form is for OPTIONS alone
    return std::nullopt;
  }
  if (target.front() != '/') {
    std::size_t scheme_length = 0;
    for (const std::string_view scheme : {"http://", "https://"}) {
      if (starts_with_ignoring_case(target, scheme)) scheme_length = scheme.size();
    }
    if (scheme_length == 0) return std::nullopt;
    const std::string_view rest = target.substr(scheme_length);
    const auto path_start = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, path_start);
    // An "http" URI with an empty host is invalid (RFC 9110 4.2.1); user info is
    // deprecated and a classic phishing vector (4.2.4).
    if (authority.empty() || authority.find('@') != std::string_view::npos ||
        !is_authority(authority) || authority.front() == ':') {
      return std::nullopt;
    }
    if (path_start == std::string_view::npos) return std::string_view("/");
    target = rest.substr(path_start);
    if (target.front() == '?') {
      if (!is_query(target.substr(1))) return std::nullopt;
      return std::string_view("/");
    }
  }
  if (!is_origin_form(target)) return std::nullopt;
  return target.substr(0, target.find('?'));
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

// Just past the empty line that ends the head, looking for its LF from `from` on; npos
// while it has not arrived. LF LF and LF CR LF both end it: whether the line endings agree
// is checked once the whole head is there.
std::size_t find_head_end(std::string_view text, std::size_t from) {
  for (std::size_t i = text.find('\n', from); i != std::string_view::npos;
       i = text.find('\n', i + 1)) {
    if (i + 1 < text.size() && text[i + 1] == '\n') return i + 2;
    if (i + 2 < text.size() && text[i + 1] == '\r' && text[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

// What the headers said that matters once they have all been read.
struct Framing {
  bool http11 = true;
  std::string_view method;
  int hosts = 0;
  bool content_length = false;
  bool has_body = false;  // a Content-Length above 0
  bool transfer_encoding = false;
};

Status parse_request_line(std::string_view line, Request& request, Framing& framing) {
  // method SP request-target SP HTTP-version, one space each (RFC 9112 3).
  const auto first_space = line.find(' ');
  if (first_space == std::string_view::npos) return Status::kBadRequest;
  const auto second_space = line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos ||
      line.find(' ', second_space + 1) != std::string_view::npos) {
    return Status::kBadRequest;
  }
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  const std::string_view version = line.substr(second_space + 1);
  if (!is_token(method) || target.empty()) return Status::kBadRequest;
  if (version == "HTTP/1.1") {
    framing.http11 = true;
  } else if (version == "HTTP/1.0") {
    framing.http11 = false;
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && is_digit(version[5]) &&
             version[6] == '.' && is_digit(version[7])) {
    return Status::kVersionUnsupported;
  } else {
    return Status::kBadRequest;
  }
  const auto path = target_path(target, method);
  if (!path) return Status::kBadRequest;
  framing.method = method;
  request.method = method == "GET"    ? Method::kGet
                   : method == "HEAD" ? Method::kHead
                                      : Method::kOther;
  request.path = std::string(*path);
  request.keep_alive = framing.http11;
  return Status::kComplete;
}

Status parse_header(std::string_view line, Request& request, Framing& framing) {
  // A line that starts with a space or tab continues the previous one (obs-fold): refused,
  // as RFC 9112 5.2 allows, rather than joined.
  if (line.front() == ' ' || line.front() == '\t') return Status::kBadRequest;
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return Status::kBadRequest;
  const std::string_view name = line.substr(0, colon);
  const std::string_view raw_value = line.substr(colon + 1);
  // No space before the colon (RFC 9112 5.1): a token has none.
  if (!is_token(name) || !is_field_value(raw_value)) return Status::kBadRequest;
  const std::string_view value = trim(raw_value);
  if (equals_ignoring_case(name, "Host")) {
    if (++framing.hosts > 1 || !is_authority(value)) return Status::kBadRequest;
  } else if (equals_ignoring_case(name, "Connection")) {
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
    // Two lengths, even equal ones, are how requests get smuggled past a proxy.
    if (framing.content_length || value.empty() ||
        !std::all_of(value.begin(), value.end(), is_digit)) {
      return Status::kBadRequest;
    }
    framing.content_length = true;
    framing.has_body = value.find_first_not_of('0') != std::string_view::npos;
  } else if (equals_ignoring_case(name, "Transfer-Encoding")) {
    framing.transfer_encoding = true;
  }
  return Status::kComplete;
}

// The rules that need every header: RFC 9112 3.2 (Host), 6.1 and 6.3 (framing).
Status check_framing(const Framing& framing) {
  if (framing.http11 && framing.hosts == 0) return Status::kBadRequest;
  if (framing.transfer_encoding && (framing.content_length || !framing.http11)) {
    return Status::kBadRequest;
  }
  const bool body = framing.transfer_encoding || framing.has_body;
  if (!body) return Status::kComplete;
  // GET and HEAD have no use for a body: one there is an attempt to confuse something.
  if (framing.method == "GET" || framing.method == "HEAD") return Status::kBadRequest;
  return Status::kBodyRefused;
}

Status parse_head(std::string_view head, Request& request) {
  Framing framing;
  bool first_line = true;
  bool crlf = true;
  while (!head.empty()) {
    const auto newline = head.find('\n');
    std::string_view line = head.substr(0, newline);
    head.remove_prefix(newline + 1);
    const bool ends_in_crlf = !line.empty() && line.back() == '\r';
    if (ends_in_crlf) line.remove_suffix(1);
    // Every line ends the same way: a head that mixes CRLF and bare LF is read differently
    // by different parsers. A CR anywhere else is a bare CR (RFC 9112 2.2).
    if (first_line) crlf = ends_in_crlf;
    if (ends_in_crlf != crlf || line.find('\r') != std::string_view::npos) {
      return Status::kBadRequest;
    }
    if (line.empty()) break;
    const Status status = first_line ? parse_request_line(line, request, framing)
                                     : parse_header(line, request, framing);
    if (status != Status::kComplete) return status;
    first_line = false;
  }
  return check_framing(framing);
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

ParsedHead parse_request_head(std::string_view received, std::size_t scanned) {
  ParsedHead parsed;
  // A client may send empty lines before a request (RFC 9112 2.2); a CR there that no LF
  // follows is a bare CR.
  std::size_t leading = 0;
  while (leading < received.size() && (received[leading] == '\n' || received[leading] == '\r')) {
    if (received[leading] == '\r' && leading + 1 < received.size() &&
        received[leading + 1] != '\n') {
      parsed.status = Status::kBadRequest;
      return parsed;
    }
    ++leading;
  }
  const std::string_view rest = received.substr(leading);
  const std::size_t end = find_head_end(rest, scanned > leading ? scanned - leading : 0);
  if (end == std::string_view::npos) {
    parsed.status = received.size() >= kMaxRequestHead ? Status::kTooLarge : Status::kIncomplete;
    // The last two bytes may start the empty line ("\n\r" of "\n\r\n"): look again there.
    parsed.scanned = leading + (rest.size() >= 2 ? rest.size() - 2 : 0);
    return parsed;
  }
  if (leading + end > kMaxRequestHead) {
    parsed.status = Status::kTooLarge;
    return parsed;
  }
  parsed.status = parse_head(rest.substr(0, end), parsed.request);
  parsed.length = leading + end;
  return parsed;
}

}  // namespace execmond::http

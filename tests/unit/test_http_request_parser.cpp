// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <string>

#include "http/limits.h"
#include "http/request_parser.h"

namespace execmond::http {
namespace {

using Status = ParsedHead::Status;

Status status_of(const std::string& head) { return parse_request_head(head).status; }

TEST_CASE("a request head is parsed whatever way reads split it") {
  const std::string request =
      "GET /metrics?x=1 HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n"
      "Authorization: Basic dTpw\r\n\r\nGET / HTTP/1.1\r\n";
  const std::size_t head_length = request.find("\r\n\r\n") + 4;
  for (std::size_t cut = 0; cut < head_length; ++cut) {
    CAPTURE(cut);
    CHECK(parse_request_head(request.substr(0, cut)).status == Status::kIncomplete);
  }
  const ParsedHead parsed = parse_request_head(request);
  REQUIRE(parsed.status == Status::kComplete);
  CHECK(parsed.length == head_length);  // the pipelined request is left for later
  CHECK(parsed.request.method == Method::kGet);
  CHECK(parsed.request.path == "/metrics");
  CHECK(parsed.request.keep_alive);
  CHECK(parsed.request.accepts_gzip);
  CHECK(parsed.request.authorization == std::optional<std::string>("Basic dTpw"));
}

TEST_CASE("the rescan hint finds the end of a head that arrives a byte at a time") {
  for (const std::string request : {"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
                                    "GET / HTTP/1.1\nHost: h\n\n", "\r\nGET / HTTP/1.0\r\n\r\n"}) {
    CAPTURE(request);
    std::size_t scanned = 0;
    for (std::size_t cut = 0; cut < request.size(); ++cut) {
      const ParsedHead partial = parse_request_head(request.substr(0, cut), scanned);
      REQUIRE(partial.status == Status::kIncomplete);
      CHECK(partial.scanned <= cut);
      scanned = partial.scanned;
    }
    const ParsedHead parsed = parse_request_head(request, scanned);
    CHECK(parsed.status == Status::kComplete);
    CHECK(parsed.length == request.size());
  }
}

TEST_CASE("methods, versions and connection options") {
  const auto parse = [](const std::string& head) { return parse_request_head(head); };
  CHECK(parse("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n").request.method == Method::kHead);
  CHECK(parse("POST / HTTP/1.1\r\nHost: h\r\n\r\n").request.method == Method::kOther);
  CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n").request.keep_alive);
  CHECK_FALSE(parse("GET / HTTP/1.0\r\n\r\n").request.keep_alive);
  CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").request.keep_alive);
  CHECK_FALSE(
      parse("GET / HTTP/1.1\r\nHost: h\r\nconnection: te, close\r\n\r\n").request.keep_alive);
  CHECK_FALSE(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n").request.accepts_gzip);
  // Bare LF throughout, and empty lines before the request line (RFC 9112 2.2).
  CHECK(parse("\r\nGET / HTTP/1.1\nHost: h\n\n").status == Status::kComplete);
  CHECK(parse("\n\nGET / HTTP/1.0\r\n\r\n").status == Status::kComplete);
}

TEST_CASE("request targets: origin form, absolute form for http and https, asterisk for OPTIONS") {
  const auto path = [](const std::string& target, const std::string& method = "GET") {
    const ParsedHead parsed =
        parse_request_head(method + " " + target + " HTTP/1.1\r\nHost: h\r\n\r\n");
    return parsed.status == Status::kComplete ? parsed.request.path : "<refused>";
  };
  CHECK(path("/metrics") == "/metrics");
  CHECK(path("/metrics?name[]=a%20b&x=:@/?") == "/metrics");
  CHECK(path("/a;b,c=d!$'()*+~_.-") == "/a;b,c=d!$'()*+~_.-");
  CHECK(path("http://host:9717/metrics") == "/metrics");
  CHECK(path("HTTPS://[::1]:9717/metrics?x") == "/metrics");
  CHECK(path("http://10.0.0.1") == "/");
  CHECK(path("http://10.0.0.1?x=1") == "/");
  CHECK(path("*", "OPTIONS") == "*");
  // Refused: what this endpoint does not serve, and bytes RFC 3986 does not allow.
  for (const std::string target : {"*",
                                   "metrics",
                                   "ftp://host/metrics",
                                   "host:9717",
                                   "http://",
                                   "http:///metrics",
                                   "http://user:pw@host/metrics",
                                   "http://:9717/metrics",
                                   "http://[::1/metrics",
                                   "http://host:port/metrics",
                                   "/metrics#fragment",
                                   "/a\"b",
                                   "/a<b>",
                                   "/a\\b",
                                   "/a{b}",
                                   "/a|b",
                                   "/a^b",
                                   "/a`b",
                                   "/%zz",
                                   "/%4",
                                   "/\x7f",
                                   "/\x80",
                                   "/\x01"}) {
    CAPTURE(target);
    CHECK(path(target) == "<refused>");
  }
}

TEST_CASE("bad request lines are refused") {
  CHECK(status_of("GET\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET /\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / FTP/1.1\r\nHost: h\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1 \r\nHost: h\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET  / HTTP/1.1\r\nHost: h\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of(" GET / HTTP/1.1\r\nHost: h\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / http/1.1\r\nHost: h\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.10\r\nHost: h\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == Status::kVersionUnsupported);
  CHECK(status_of("GET / HTTP/0.9\r\n\r\n") == Status::kVersionUnsupported);
}

TEST_CASE("invalid bytes in the method are refused") {
  for (const std::string method : {"G(T", "GE T", "G\x01T", "G\xc3\xa9T", "G:T", "G@T", "G\tT"}) {
    CAPTURE(method);
    CHECK(status_of(method + " / HTTP/1.1\r\nHost: h\r\n\r\n") == Status::kBadRequest);
  }
}

TEST_CASE("control characters other than HTAB in a field value are refused") {
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nA: b\tc \t\r\n\r\n") == Status::kComplete);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nA: caf\xc3\xa9\r\n\r\n") == Status::kComplete);
  for (const char control : {'\0', '\x01', '\x08', '\x0b', '\x0c', '\x1b', '\x1f', '\x7f'}) {
    CAPTURE(static_cast<int>(control));
    std::string head = "GET / HTTP/1.1\r\nHost: h\r\nA: b?c\r\n\r\n";
    head[head.find('?')] = control;
    CHECK(status_of(head) == Status::kBadRequest);
  }
  CHECK(status_of(std::string("GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n", 29)) == Status::kBadRequest);
}

TEST_CASE("a bare CR is refused wherever it is") {
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nA: b\rc\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\rHost: h\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\n\r\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("\rGET / HTTP/1.1\r\nHost: h\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nA\r: b\r\n\r\n") == Status::kBadRequest);
}

TEST_CASE("mixed line endings are refused") {
  CHECK(status_of("GET / HTTP/1.1\nHost: h\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\nHost: h\n\r\n") == Status::kBadRequest);  // \n\r\n
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\n\n") == Status::kBadRequest);
}

TEST_CASE("header names and folded lines") {
  CHECK(status_of("GET / HTTP/1.1\r\nHost : x\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost x\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\n: b\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nA(b: c\r\n\r\n") == Status::kBadRequest);
  // obs-fold (RFC 9112 5.2): refused, not joined.
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n folded\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n\tfolded\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\n Host: h\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n") ==
        Status::kBadRequest);
}

TEST_CASE("Host: exactly one for HTTP/1.1, and a valid one") {
  CHECK(status_of("GET / HTTP/1.1\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a@b\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h:x\r\n\r\n") == Status::kBadRequest);
  for (const std::string host :
       {"", "h", "h:9717", "10.0.0.1:80", "[::1]:9717", "[fe80::1]", "a-b.example"}) {
    CAPTURE(host);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n") == Status::kComplete);
  }
  CHECK(status_of("GET / HTTP/1.0\r\n\r\n") == Status::kComplete);  // 1.0 needs none
}

TEST_CASE("no request body is accepted, and none is framed two ways") {
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n") == Status::kComplete);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n") ==
        Status::kBodyRefused);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        Status::kBodyRefused);
  // A body on GET or HEAD.
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("HEAD / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n") ==
        Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        Status::kBadRequest);
  // Two framings: smuggling.
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n") ==
        Status::kBadRequest);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n") ==
        Status::kBadRequest);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n") ==
        Status::kBadRequest);
  CHECK(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n") == Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n") ==
        Status::kBadRequest);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n") == Status::kBadRequest);
}

TEST_CASE("a request head is bounded") {
  const std::string start = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
  std::string head = start + std::string(kMaxRequestHead - start.size() - 4, 'a') + "\r\n\r\n";
  REQUIRE(head.size() == kMaxRequestHead);
  CHECK(parse_request_head(head).status == Status::kComplete);
  head.insert(start.size(), "a");
  CHECK(parse_request_head(head).status == Status::kTooLarge);
  // Without an end in sight: too large as soon as the bound is reached.
  CHECK(parse_request_head(std::string(kMaxRequestHead - 1, 'a')).status == Status::kIncomplete);
  CHECK(parse_request_head(std::string(kMaxRequestHead, 'a')).status == Status::kTooLarge);
}

TEST_CASE("Accept-Encoding weights") {
  CHECK(accepts_gzip("gzip"));
  CHECK(accepts_gzip("deflate, GZIP;q=0.5"));
  CHECK(accepts_gzip("gzip;q=1.0"));
  CHECK_FALSE(accepts_gzip("gzip;q=0"));
  CHECK_FALSE(accepts_gzip("gzip; q=0.000"));
  CHECK_FALSE(accepts_gzip("identity, gzipped"));
  CHECK_FALSE(accepts_gzip(""));
}

}  // namespace
}  // namespace execmond::http

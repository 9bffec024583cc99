// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <string>

#include "http/limits.h"
#include "http/request_parser.h"

namespace execmond::http {
namespace {

using Status = ParsedHead::Status;

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

TEST_CASE("methods, versions and connection options") {
  const auto parse = [](const std::string& head) { return parse_request_head(head); };
  CHECK(parse("HEAD / HTTP/1.1\r\n\r\n").request.method == Method::kHead);
  CHECK(parse("POST / HTTP/1.1\r\n\r\n").request.method == Method::kOther);
  CHECK(parse("GET / HTTP/1.1\r\n\r\n").request.keep_alive);
  CHECK_FALSE(parse("GET / HTTP/1.0\r\n\r\n").request.keep_alive);
  CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").request.keep_alive);
  CHECK_FALSE(parse("GET / HTTP/1.1\r\nconnection: te, close\r\n\r\n").request.keep_alive);
  CHECK(parse("GET http://host:9717/metrics HTTP/1.1\r\n\r\n").request.path == "/metrics");
  CHECK(parse("\r\nGET / HTTP/1.1\n\n").status == Status::kComplete);  // bare LF, leading CRLF
  CHECK_FALSE(parse("GET / HTTP/1.1\r\n\r\n").request.accepts_gzip);
}

TEST_CASE("bad request lines and headers are refused") {
  const auto status = [](const std::string& head) { return parse_request_head(head).status; };
  CHECK(status("GET\r\n\r\n") == Status::kBadRequest);
  CHECK(status("GET /\r\n\r\n") == Status::kBadRequest);
  CHECK(status("GET metrics HTTP/1.1\r\n\r\n") == Status::kBadRequest);
  CHECK(status("GET / FTP/1.1\r\n\r\n") == Status::kBadRequest);
  CHECK(status("G(T / HTTP/1.1\r\n\r\n") == Status::kBadRequest);
  CHECK(status("GET / HTTP/2.0\r\n\r\n") == Status::kVersionUnsupported);
  CHECK(status("GET / HTTP/1.1\r\nHost : x\r\n\r\n") == Status::kBadRequest);
  CHECK(status("GET / HTTP/1.1\r\nHost x\r\n\r\n") == Status::kBadRequest);
  CHECK(status("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n") == Status::kBadRequest);
  CHECK(status("GET / HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n") ==
        Status::kBadRequest);
  CHECK(status(std::string("GET / HTTP/1.1\r\nA: \0\r\n\r\n", 24)) == Status::kBadRequest);
  CHECK(status("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n") == Status::kBadRequest);
}

TEST_CASE("no request body is accepted") {
  const auto status = [](const std::string& head) { return parse_request_head(head).status; };
  CHECK(status("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n") == Status::kComplete);
  CHECK(status("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n") == Status::kBodyRefused);
  CHECK(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") == Status::kBodyRefused);
}

TEST_CASE("a request head is bounded") {
  const std::string start = "GET / HTTP/1.1\r\nX: ";
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

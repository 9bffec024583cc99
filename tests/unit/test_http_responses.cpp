// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <string>

#include "http/responses.h"

namespace execmond::http {
namespace {

TEST_CASE("a response head says the length of its body, even for HEAD") {
  const auto body = std::make_shared<const std::string>("abc\n");
  ResponseOptions options;
  options.extra_headers = "Vary: Accept-Encoding\r\n";
  const Response get = make_response(options, body);
  CHECK(get.head ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 4\r\n"
        "Vary: Accept-Encoding\r\nConnection: keep-alive\r\n\r\n");
  CHECK(get.body == body);  // shared, not copied
  CHECK_FALSE(get.close);
  options.head_only = true;
  const Response head = make_response(options, body);
  CHECK(head.head == get.head);
  CHECK_FALSE(head.body);
}

TEST_CASE("status responses") {
  const Response refused = make_status_response(431, false);
  CHECK(refused.status == 431);
  CHECK(refused.close);
  CHECK(refused.head.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0) == 0);
  CHECK(refused.head.find("Connection: close\r\n") != std::string::npos);
  CHECK(*refused.body == "Request Header Fields Too Large\n");
  const Response not_allowed = make_status_response(405, true, false, "Allow: GET, HEAD\r\n");
  CHECK(not_allowed.head.find("Allow: GET, HEAD\r\n") != std::string::npos);
}

TEST_CASE("the landing page links to /metrics") {
  CHECK(landing_page()->find("<a href=\"/metrics\">") != std::string::npos);
}

}  // namespace
}  // namespace execmond::http

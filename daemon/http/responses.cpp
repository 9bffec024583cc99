// SPDX-License-Identifier: Apache-2.0
#include "http/responses.h"

#include "http/status_codes.h"
#include "version.h"

namespace execmond::http {
namespace {

Response with_head(const ResponseOptions& options, std::size_t content_length) {
  Response response;
  response.status = options.status;
  response.close = !options.keep_alive;
  std::string& head = response.head;
  head.reserve(256);
  head += "HTTP/1.1 ";
  head += std::to_string(options.status);
  head += ' ';
  head += reason_phrase(options.status);
  head += "\r\nContent-Type: ";
  head += options.content_type;
  head += "\r\nContent-Length: ";
  head += std::to_string(content_length);
  head += "\r\n";
  head += options.extra_headers;
  head += options.configured_headers;
  // Said even where HTTP/1.1 implies it: an HTTP/1.0 client keeps the connection only then.
  head += options.keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  head += "\r\n";
  return response;
}

}  // namespace

Response make_response(const ResponseOptions& options, std::shared_ptr<const std::string> body) {
  Response response = with_head(options, body ? body->size() : 0);
  if (!options.head_only) response.body = std::move(body);
  return response;
}

Response make_response(const ResponseOptions& options, std::unique_ptr<ExpositionCursor> cursor) {
  Response response = with_head(options, cursor->size());
  if (!options.head_only) response.exposition = std::move(cursor);
  return response;
}

Response make_status_response(int status, bool keep_alive, bool head_only,
                              std::string_view extra_headers, std::string_view configured_headers) {
  ResponseOptions options;
  options.status = status;
  options.keep_alive = keep_alive;
  options.head_only = head_only;
  options.extra_headers = extra_headers;
  options.configured_headers = configured_headers;
  return make_response(
      options, std::make_shared<const std::string>(std::string(reason_phrase(status)) + "\n"));
}

std::shared_ptr<const std::string> landing_page() {
  static const auto page = std::make_shared<const std::string>(
      "<!DOCTYPE html>\n"
      "<html lang=\"en\">\n"
      "<head><meta charset=\"utf-8\"><title>execmond</title></head>\n"
      "<body>\n"
      "<h1>execmond</h1>\n"
      "<p>Process exec and exit metrics from eBPF, version " EXECMOND_VERSION
      ".</p>\n"
      "<p><a href=\"/metrics\">Metrics</a></p>\n"
      "</body>\n"
      "</html>\n");
  return page;
}

}  // namespace execmond::http

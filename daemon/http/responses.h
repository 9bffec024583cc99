// SPDX-License-Identifier: Apache-2.0
// The responses the endpoint sends: a status line and headers in front of a shared body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/exposition.h"

namespace execmond::http {

struct Response {
  int status = 200;
  std::string head;                         // status line, headers, blank line
  std::shared_ptr<const std::string> body;  // null: none (HEAD, or a bodiless status)
  // A scrape's body instead, read out of the shared exposition as it is sent.
  std::unique_ptr<ExpositionCursor> exposition;
  bool close = false;  // close the connection once sent
  // For the byte budget of slow clients: the render a scrape's body comes from, what
  // that render keeps in memory (shared by every response of it), and what this response
  // costs on its own (the cursor's inflate window when the client takes no gzip).
  std::uint64_t render_cycle = 0;
  std::size_t render_bytes = 0;
  std::size_t own_bytes = 0;
};

struct ResponseOptions {
  int status = 200;
  std::string_view content_type = "text/plain; charset=utf-8";
  std::string_view extra_headers;       // each ending in \r\n
  std::string_view configured_headers;  // the web configuration's, each ending in \r\n
  bool keep_alive = true;
  bool head_only = false;  // HEAD: the headers of the GET, no body
};

Response make_response(const ResponseOptions& options, std::shared_ptr<const std::string> body);
// The same with a scrape's body, `cursor.size()` bytes.
Response make_response(const ResponseOptions& options, std::unique_ptr<ExpositionCursor> cursor);
// A short text body saying what the status means ("Not Found\n").
Response make_status_response(int status, bool keep_alive, bool head_only = false,
                              std::string_view extra_headers = {},
                              std::string_view configured_headers = {});

// The HTML page on "/": the program, its version, a link to /metrics.
std::shared_ptr<const std::string> landing_page();

}  // namespace execmond::http

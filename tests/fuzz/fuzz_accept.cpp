// The Accept header of a scrape (untrusted bytes) to the exposition format it gets.
// Beyond "no crash, leak, hang or sanitizer report": the answer is one of the two
// formats, protobuf only when the header names its media type, and the same bytes give
// the same answer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/exposition.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view accept(reinterpret_cast<const char*>(data), size);
  using execmond::http::ExpositionFormat;
  const ExpositionFormat format = execmond::http::negotiate_format(accept);
  if (format != ExpositionFormat::kText && format != ExpositionFormat::kProtobuf) std::abort();
  if (format == ExpositionFormat::kProtobuf) {
    std::string lower(accept);
    for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (lower.find("application/vnd.google.protobuf") == std::string::npos) std::abort();
    if (accept.find("io.prometheus.client.MetricFamily") == std::string_view::npos) std::abort();
  }
  if (execmond::http::negotiate_format(accept) != format) std::abort();
  return 0;
}

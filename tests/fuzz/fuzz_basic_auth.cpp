// The Authorization header's basic credentials, as any client may send them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/basic_auth.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  const auto credentials = execmond::http::decode_basic_authorization(value);
  // base64 shrinks: what is decoded is never longer than what was sent.
  if (credentials && credentials->user.size() + credentials->password.size() + 1 > size) {
    std::abort();
  }
  return 0;
}

// The exporter-toolkit web configuration (TLS and basic auth): parsed, never loaded
// (the files it names are read later, by the TLS setup).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config_error.h"
#include "http/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    execmond::http::parse_web_config(std::string_view(reinterpret_cast<const char*>(data), size),
                                     "/etc/execmond/web.yml");
  } catch (const execmond::ConfigError&) {
    // Refused, with its line: what a bad file must get.
  }
  return 0;
}

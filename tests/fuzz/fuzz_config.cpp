// SPDX-License-Identifier: Apache-2.0
// The execmond configuration loader: YAML text -> a validated Config, or a located
// ConfigError. Nothing else may come out of it: no other exception, no hang, no
// unbounded memory (libFuzzer's -timeout and -rss_limit_mb catch those).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const execmond::Config config = execmond::parse_config(text, "execmond.yaml");
    // A validated configuration is one the daemon can run on.
    if (config.series.max_comm_series < 1 ||
        config.series.max_comm_series > execmond::kMaxCommSeries) {
      std::abort();
    }
    if (config.ring_buffer_size & (config.ring_buffer_size - 1)) std::abort();
  } catch (const execmond::ConfigError& error) {
    // Every refusal is located: "<source>:<line>:<column>: ...".
    if (std::string_view(error.what()).substr(0, 14) != "execmond.yaml:") std::abort();
  }
  return 0;
}

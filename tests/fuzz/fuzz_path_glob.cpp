// The allow-list's path globs: a pattern (compiled, or refused) and a path to match. The
// input is "<pattern>\n<path>"; the matcher is an NFA, so no pair may take long.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "events/path_glob.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view pattern = input.substr(0, newline);
  const std::string_view path =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  try {
    const execmond::PathGlob glob(pattern);
    const bool matched = glob.matches(path);
    if (glob.matches(path) != matched) std::abort();  // the scratch state is reset
    // A pattern without special characters matches exactly itself.
    if (pattern.find_first_of("*?[\\") == std::string_view::npos && glob.matches(pattern) != true) {
      std::abort();
    }
  } catch (const execmond::InvalidGlob&) {
  }
  return 0;
}

// SPDX-License-Identifier: Apache-2.0
// Catch2's runner, and the child that bounds a YAML parse (config/parse_probe.h) as the
// daemon's main() dispatches to it: the parse-bound tests run this binary as that child.
#if __has_include(<catch2/catch_session.hpp>)  // Catch2 3 (Debian 13)
#include <catch2/catch_session.hpp>
#else  // Catch2 2 (Debian 12)
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include "config/parse_probe.h"

int main(int argc, char* argv[]) {
  if (execmond::is_parse_probe(argc, argv)) return execmond::run_parse_probe(argc, argv);
  return Catch::Session().run(argc, argv);
}

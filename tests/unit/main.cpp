// Catch2's runner, and the child that bounds a YAML parse (config/parse_probe.h) as the
// daemon's main() dispatches to it: the parse-bound tests run this binary as that child.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "config/parse_probe.h"

int main(int argc, char* argv[]) {
  if (execmond::is_parse_probe(argc, argv)) return execmond::run_parse_probe(argc, argv);
  return Catch::Session().run(argc, argv);
}

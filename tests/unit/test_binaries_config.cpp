// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <string>

#include "config/config.h"
#include "config_rejection.h"

namespace execmond {

TEST_CASE("no binaries section: the feature is off", "[config][binaries]") {
  CHECK_FALSE(parse_config("listen: \":9717\"\n", "x").allowed_binaries.has_value());
}

TEST_CASE("the binaries section is read", "[config][binaries]") {
  const Config config =
      parse_config("binaries:\n  allow: [\"/usr/bin/*\", \"/opt/app/**\"]\n", "x");
  REQUIRE(config.allowed_binaries.has_value());
  CHECK(*config.allowed_binaries == std::vector<std::string>{"/usr/bin/*", "/opt/app/**"});
  // An empty list is on, with every binary unexpected.
  const Config empty = parse_config("binaries:\n  allow: []\n", "x");
  REQUIRE(empty.allowed_binaries.has_value());
  CHECK(empty.allowed_binaries->empty());
}

TEST_CASE("binaries section mistakes are located and explained", "[config][binaries]") {
  CHECK(rejection("binaries:\n") ==
        "execmond.yaml:1:1: binaries: expected a section: \"allow:\" and a list of path "
        "patterns, on the next lines, indented, got nothing");
  CHECK(rejection("binaries: [\"/usr/bin/*\"]\n") ==
        "execmond.yaml:1:11: binaries: expected a section: \"allow:\" and a list of path "
        "patterns, on the next lines, indented, got a list");
  CHECK(rejection("binaries: {}\n") ==
        "execmond.yaml:1:11: binaries: expected \"allow:\" and a list of path patterns in the "
        "section, got none");
  CHECK(rejection("binaries:\n  alow: []\n") ==
        "execmond.yaml:2:3: unknown key \"alow\" (did you mean \"allow\"?) in section "
        "\"binaries\"");
  CHECK(rejection("binaries:\n  deny: []\n") ==
        "execmond.yaml:2:3: unknown key \"deny\" (known keys: allow) in section \"binaries\"");
  CHECK(rejection("binaries:\n  allow: []\n  allow: []\n") ==
        "execmond.yaml:3:3: duplicate key \"binaries.allow\" (first set on line 2)");
  CHECK(rejection("binaries:\n  allow: /usr/bin/*\n") ==
        "execmond.yaml:2:10: binaries.allow: expected a list of path patterns such as "
        "[\"/usr/bin/*\", \"/usr/lib/**\"], got \"/usr/bin/*\"");
  CHECK(rejection("binaries:\n  allow:\n    - \"/usr/bin/*\"\n    - \"bin/*\"\n") ==
        "execmond.yaml:4:7: binaries.allow[1]: expected an absolute path pattern starting "
        "with /, got \"bin/*\"");
  CHECK(rejection("binaries:\n  allow: [\"/usr/[bin\"]\n") ==
        "execmond.yaml:2:11: binaries.allow[0]: a [ that starts a set of characters has no "
        "closing ], got \"/usr/[bin\"");
  CHECK(rejection("binaries:\n  allow: [\"/usr/bin\\\\\"]\n") ==
        "execmond.yaml:2:11: binaries.allow[0]: a \\ at the end escapes nothing, got "
        "\"/usr/bin\\\\\"");
  CHECK(rejection("binaries:\n  allow: [[\"/a\"]]\n") ==
        "execmond.yaml:2:11: binaries.allow[0]: expected a path pattern such as "
        "\"/usr/bin/*\", got a list");
  CHECK(rejection("binaries:\n  allow: [\"/usr/bin/*\"]\nbinaries: {}\n") ==
        "execmond.yaml:3:1: duplicate key \"binaries\" (first set on line 1)");
}

}  // namespace execmond

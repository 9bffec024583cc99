// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <cctype>
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
        "execmond.yaml:2:3: unknown key \"deny\" (known keys: allow, packaged) in section "
        "\"binaries\"");
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

// How an error quotes a long value: its first 60 bytes.
std::string shown(const std::string& value) { return "\"" + value.substr(0, 60) + "\"..."; }

TEST_CASE("sha256: entries sit beside the globs; a wrong one is refused where it is",
          "[config][binaries]") {
  const std::string digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const Config config = parse_config(
      "binaries:\n  allow:\n    - \"/usr/bin/*\"\n    - \"sha256:" + digest + "\"\n", "x");
  CHECK(*config.allowed_binaries == std::vector<std::string>{"/usr/bin/*", "sha256:" + digest});
  CHECK(rejection("binaries:\n  allow:\n    - \"/usr/bin/*\"\n    - \"sha256:" + digest.substr(1) +
                  "\"\n") ==
        "execmond.yaml:4:7: binaries.allow[1]: a sha256: entry needs 64 hex digits after "
        "\"sha256:\" (sha256sum prints them), this one has 63, got " +
            shown("sha256:" + digest.substr(1)));
  CHECK(rejection("binaries:\n  allow: [\"sha256:" + digest + "0\"]\n") ==
        "execmond.yaml:2:11: binaries.allow[0]: a sha256: entry needs 64 hex digits after "
        "\"sha256:\" (sha256sum prints them), this one has 65, got " +
            shown("sha256:" + digest + "0"));
  const std::string not_hex = digest.substr(0, 10) + "g" + digest.substr(11);
  CHECK(rejection("binaries:\n  allow: [\"sha256:" + not_hex + "\"]\n") ==
        "execmond.yaml:2:11: binaries.allow[0]: a sha256: entry holds only hex digits 0-9 and "
        "a-f after \"sha256:\", character 18 is not one, got " +
            shown("sha256:" + not_hex));
  CHECK(rejection("binaries:\n  allow: [\"sha256:\"]\n") ==
        "execmond.yaml:2:11: binaries.allow[0]: a sha256: entry needs 64 hex digits after "
        "\"sha256:\" (sha256sum prints them), this one has 0, got \"sha256:\"");
  // Upper case digits are what some tools print: accepted.
  std::string upper = digest;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  CHECK(rejection("binaries:\n  allow: [\"sha256:" + upper + "\"]\n") == "(accepted)");
}

TEST_CASE("binaries: packaged: is a boolean, and may stand alone", "[config][binaries]") {
  const Config on = parse_config("binaries:\n  packaged: true\n  allow: [\"/opt/*\"]\n", "x");
  CHECK(on.packaged_binaries);
  CHECK(*on.allowed_binaries == std::vector<std::string>{"/opt/*"});
  const Config alone = parse_config("binaries: {packaged: true}\n", "x");
  CHECK(alone.packaged_binaries);
  REQUIRE(alone.allowed_binaries.has_value());
  CHECK(alone.allowed_binaries->empty());
  CHECK_FALSE(parse_config("binaries:\n  allow: []\n", "x").packaged_binaries);
  CHECK_FALSE(parse_config("listen: \":1\"\n", "x").packaged_binaries);
  CHECK(rejection("binaries:\n  packaged: yes\n  allow: []\n") ==
        "execmond.yaml:2:13: binaries.packaged: expected true or false, got \"yes\"");
  CHECK(rejection("binaries: {packaged: false}\n") ==
        "execmond.yaml:1:11: binaries: expected \"allow:\" and a list of path patterns in the "
        "section, got none");
  CHECK(rejection("binaries:\n  packged: true\n") ==
        "execmond.yaml:2:3: unknown key \"packged\" (did you mean \"packaged\"?) in section "
        "\"binaries\"");
}

}  // namespace execmond

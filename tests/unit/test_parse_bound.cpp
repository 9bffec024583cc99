// The bound on parsing YAML (config/parse_bound.h): a child of this very binary (main.cpp
// dispatches to the probe) parses first, and a parser that runs away, hangs or crashes is
// refused within its budget. EXECMOND_INJECT_PARSER_FAULT makes the child misbehave on
// purpose, as a yaml-cpp defect would.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "config/config.h"
#include "config/parse_bound.h"
#include "config/parse_probe.h"
#include "http/web_config.h"

namespace execmond {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr char kSelf[] = "/proc/self/exe";
constexpr char kMarker[] = "\n# inject-parser-fault\n";

// Sets EXECMOND_INJECT_PARSER_FAULT for the children started in its lifetime.
class InjectedFault {
 public:
  explicit InjectedFault(const char* kind) { setenv("EXECMOND_INJECT_PARSER_FAULT", kind, 1); }
  ~InjectedFault() { unsetenv("EXECMOND_INJECT_PARSER_FAULT"); }
  InjectedFault(const InjectedFault&) = delete;
  InjectedFault& operator=(const InjectedFault&) = delete;
};

// Turns the bound on for this process's parses, as the daemon's main() does.
class BoundParsing {
 public:
  BoundParsing() { bound_yaml_parsing(kSelf); }
  ~BoundParsing() { bound_yaml_parsing(""); }
  BoundParsing(const BoundParsing&) = delete;
  BoundParsing& operator=(const BoundParsing&) = delete;
};

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// The message prove_parse_terminates() throws, and how long it took to throw it.
struct Refusal {
  std::string message;
  bool uncheckable = false;
  milliseconds took{0};
};

Refusal refusal(const std::string& text, const ParseBudget& budget,
                const std::string& executable = kSelf) {
  const auto started = steady_clock::now();
  Refusal result;
  try {
    prove_parse_terminates(text, "bad.yaml", executable, budget);
    result.message = "(no refusal)";
  } catch (const ConfigUncheckable& error) {
    result.message = error.what();
    result.uncheckable = true;
  } catch (const ConfigError& error) {
    result.message = error.what();
  }
  result.took = std::chrono::duration_cast<milliseconds>(steady_clock::now() - started);
  return result;
}

// 45 bytes.
const std::string kSmall = std::string("listen: 127.0.0.1:9717") + kMarker;

}  // namespace

TEST_CASE("a parse that terminates is let through, valid YAML or not", "[parse_bound]") {
  const ParseBudget budget = ParseBudget::for_text(400);
  CHECK_NOTHROW(prove_parse_terminates("listen: 127.0.0.1:9717\n", "good.yaml", kSelf, budget));
  CHECK_NOTHROW(prove_parse_terminates("listen: [unclosed\n", "bad.yaml", kSelf, budget));
  CHECK_NOTHROW(prove_parse_terminates("", "empty.yaml", kSelf, budget));
  // The input that made yaml-cpp's LoadAll loop: read without LoadAll, it terminates.
  const std::string loop =
      read_file(EXECMOND_SOURCE_DIR "/tests/fuzz/corpus/config/yaml-cpp-loadall-loop-349b.yaml");
  REQUIRE(loop.size() == 349);
  CHECK_NOTHROW(prove_parse_terminates(loop, "loop.yaml", kSelf, ParseBudget::for_text(349)));
}

TEST_CASE("a parser that computes forever is refused at its CPU budget", "[parse_bound]") {
  const InjectedFault fault("spin");
  const ParseBudget budget = ParseBudget::for_text(kSmall.size());
  const Refusal refused = refusal(kSmall, budget);
  CHECK_FALSE(refused.uncheckable);
  CHECK(refused.message ==
        "bad.yaml: refused: parsing it did not finish within " +
            std::to_string(budget.cpu.count()) +
            " ms of CPU time, far more than any valid file of 45 bytes needs (look for "
            "unbalanced brackets or quotes and bytes that are not UTF-8: yaml-cpp misbehaves "
            "on some malformed YAML)");
  // The CPU timer ended it, not the wall-clock deadline.
  CHECK(refused.took < budget.wall);
}

TEST_CASE("a parser that allocates forever is refused at its memory budget", "[parse_bound]") {
  const InjectedFault fault("allocate");
  const ParseBudget budget = ParseBudget::for_text(kSmall.size());
  const Refusal refused = refusal(kSmall, budget);
  CHECK_FALSE(refused.uncheckable);
  if (probe_limits_heap()) {
    CHECK(refused.message.find("bad.yaml: refused: parsing it needed more than 64 MiB of memory, "
                               "far more than any valid file of 45 bytes needs") == 0);
  } else {  // AddressSanitizer: the CPU time it takes to touch the memory ends it
    CHECK(refused.message.find("bad.yaml: refused: parsing it did not finish within") == 0);
  }
  CHECK(refused.took < budget.wall);
}

TEST_CASE("a parser that hangs without using CPU is killed at the deadline", "[parse_bound]") {
  const InjectedFault fault("hang");
  ParseBudget budget = ParseBudget::for_text(kSmall.size());
  budget.wall = milliseconds(300);
  const Refusal refused = refusal(kSmall, budget);
  // That proves nothing against the file: at start it is a runtime failure, not exit 3.
  CHECK(refused.uncheckable);
  CHECK(refused.message.find("bad.yaml: cannot check the file: the YAML parser's process did not "
                             "finish within 300 ms, having had ") == 0);
  CHECK(refused.took >= milliseconds(300));
  CHECK(refused.took < milliseconds(300) + budget.wall * 10);
}

TEST_CASE("a parser that crashes is refused, and the daemon lives on", "[parse_bound]") {
  const InjectedFault fault("crash");
  const Refusal refused = refusal(kSmall, ParseBudget::for_text(kSmall.size()));
  CHECK_FALSE(refused.uncheckable);
  CHECK(refused.message.find("bad.yaml: refused: the YAML parser crashed on it (SIGSEGV)") == 0);
}

TEST_CASE("yaml-cpp's own runaway, LoadAll on a stray ',', is refused", "[parse_bound]") {
  // The child parses with the code the cause fix replaced: the real defect, bounded.
  const InjectedFault fault("loadall");
  const std::string loop =
      read_file(EXECMOND_SOURCE_DIR "/tests/fuzz/corpus/config/yaml-cpp-loadall-loop-349b.yaml") +
      kMarker;
  const ParseBudget budget = ParseBudget::for_text(loop.size());
  const Refusal refused = refusal(loop, budget);
  CHECK_FALSE(refused.uncheckable);
  INFO(refused.message);
  CHECK(refused.message.rfind("bad.yaml: refused: parsing it ", 0) == 0);
  CHECK(refused.took < budget.wall);
}

TEST_CASE("a parser process that cannot start proves nothing against the file", "[parse_bound]") {
  const Refusal refused =
      refusal("listen: 127.0.0.1:9717\n", ParseBudget::for_text(30), "/nonexistent/execmond");
  CHECK(refused.uncheckable);
  CHECK(refused.message ==
        "bad.yaml: cannot check the file: cannot run the YAML parser's process: cannot run "
        "/nonexistent/execmond: No such file or directory");
}

TEST_CASE("the budget grows with the text, never below what a valid file needs", "[parse_bound]") {
  const ParseBudget small = ParseBudget::for_text(349);
  const ParseBudget largest = ParseBudget::for_text(std::size_t{1} << 20);
  CHECK(small.cpu >= milliseconds(250));
  CHECK(small.memory == (std::size_t{64} << 20) + 256 * 349);
  CHECK(largest.cpu > small.cpu);
  CHECK(largest.memory == (std::size_t{64} << 20) + (std::size_t{256} << 20));
  CHECK(largest.wall > largest.cpu);
}

TEST_CASE("the largest configuration execmond reads parses within its budget", "[parse_bound]") {
  // 1 MiB (read_whole_file's limit) of names in a list: the most nodes a file can make.
  std::string text = "include_comms:\n";
  for (int i = 0; text.size() < (std::size_t{1} << 20) - 16; ++i) {
    text += "  - c" + std::to_string(1000000 + i) + "\n";
  }
  CHECK_NOTHROW(
      prove_parse_terminates(text, "largest.yaml", kSelf, ParseBudget::for_text(text.size())));
}

TEST_CASE("with the bound on, both configurations are proven before they are parsed",
          "[parse_bound]") {
  const BoundParsing bound;
  const InjectedFault fault("spin");
  CHECK(parse_config("log_level: info\n", "ok.yaml").log_level == spdlog::level::info);
  try {
    parse_config(kSmall, "execmond.yaml");
    FAIL("the configuration was parsed");
  } catch (const ConfigError& error) {
    CHECK(std::string(error.what()).rfind("execmond.yaml: refused: parsing it did not finish", 0) ==
          0);
  }
  try {
    http::parse_web_config(std::string("basic_auth_users: {}") + kMarker, "web.yaml");
    FAIL("the web configuration was parsed");
  } catch (const ConfigError& error) {
    CHECK(std::string(error.what()).rfind("web.yaml: refused: parsing it did not finish", 0) == 0);
  }
}

}  // namespace execmond

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "cli.h"

using namespace execmond;

namespace {

CommandLine parse(std::vector<std::string> words) {
  words.insert(words.begin(), "execmond");
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  return parse_command_line(static_cast<int>(words.size()), argv.data());
}

}  // namespace

TEST_CASE("daemon options", "[cli]") {
  const CommandLine plain = parse({});
  CHECK(plain.action == CommandLine::Action::kRunDaemon);
  CHECK_FALSE(plain.daemon.config_path);

  const CommandLine full = parse({"--config", "/etc/x.yaml", "--listen", "127.0.0.1:1"});
  CHECK(*full.daemon.config_path == "/etc/x.yaml");
  CHECK(*full.daemon.listen == "127.0.0.1:1");
  CHECK_FALSE(full.daemon.web_config_file);
  CHECK(*parse({"--web.config.file", "/etc/web.yml"}).daemon.web_config_file == "/etc/web.yml");
  CHECK_THROWS_AS(parse({"--web.config.file"}), UsageError);

  CHECK(parse({"--check-config", "--config", "a.yaml"}).action ==
        CommandLine::Action::kCheckConfig);
  CHECK(parse({"--version"}).action == CommandLine::Action::kVersion);
  CHECK(parse({"-h"}).action == CommandLine::Action::kHelp);
}

TEST_CASE("bad daemon command lines are usage errors", "[cli]") {
  CHECK_THROWS_WITH(parse({"--frobnicate"}), Catch::Contains("--frobnicate"));
  CHECK_THROWS_WITH(parse({"--config"}), Catch::Contains("--config"));
  CHECK_THROWS_WITH(parse({"extra"}), Catch::Contains("extra"));
}

TEST_CASE("trace options", "[cli]") {
  const CommandLine cli =
      parse({"trace", "--json", "-d", "250", "--comm", "ng*", "--comm", "sh", "--exclude-comm", "x",
             "--uid", "1000", "--pid", "42", "--failed"});
  REQUIRE(cli.action == CommandLine::Action::kTrace);
  const TraceOptions& t = cli.trace;
  CHECK(t.json);
  CHECK(t.min_duration_ms == 250);
  CHECK(t.include_comms == std::vector<std::string>{"ng*", "sh"});
  CHECK(t.exclude_comms == std::vector<std::string>{"x"});
  CHECK(*t.uid == 1000);
  CHECK(*t.pid == 42);
  CHECK(t.failed_only);
  CHECK(parse({"trace", "--help"}).action == CommandLine::Action::kTraceHelp);
  CHECK(parse({"trace", "--min-duration", "7"}).trace.min_duration_ms == 7);
  CHECK_FALSE(t.unexpected_only);
  const TraceOptions unexpected =
      parse({"trace", "--unexpected", "--config", "/etc/execmond/execmond.yaml"}).trace;
  CHECK(unexpected.unexpected_only);
  CHECK(*unexpected.config_path == "/etc/execmond/execmond.yaml");
  CHECK_FALSE(parse({"trace", "--unexpected"}).trace.config_path.has_value());
  CHECK(parse({"trace", "--unit", "nginx.service", "--unit", "user-*.slice"}).trace.include_units ==
        std::vector<std::string>{"nginx.service", "user-*.slice"});
  CHECK_THROWS_WITH(parse({"trace", "--unit"}), Catch::Contains("--unit"));
}

TEST_CASE("bad trace command lines are usage errors", "[cli]") {
  CHECK_THROWS_WITH(parse({"trace", "-d", "fast"}), Catch::Contains("--min-duration"));
  CHECK_THROWS_WITH(parse({"trace", "--uid", "-1"}), Catch::Contains("--uid"));
  CHECK_THROWS_WITH(parse({"trace", "--pid", "99999999999"}), Catch::Contains("--pid"));
  CHECK_THROWS_WITH(parse({"trace", "--listen", "x"}), Catch::Contains("--listen"));
}

// Issue 17: `execmond trace --bogus` printed the daemon's usage.
TEST_CASE("a bad trace option shows trace's usage, a bad daemon option the daemon's", "[cli]") {
  const auto usage_of = [](std::vector<std::string> words) -> std::string {
    try {
      parse(std::move(words));
    } catch (const UsageError& error) {
      return error.usage();
    }
    return "(accepted)";
  };
  CHECK(usage_of({"trace", "--bogus"}) == trace_usage_text());
  CHECK(usage_of({"trace", "-d", "fast"}) == trace_usage_text());
  CHECK(usage_of({"trace", "extra"}) == trace_usage_text());
  CHECK(usage_of({"--bogus"}) == usage_text());
  CHECK(usage_of({"--config"}) == usage_text());
}

// Regression: -d 18446744073710 overflowed the ms -> ns conversion and filtered at 0.45 ms.
TEST_CASE("--min-duration is bounded by what nanoseconds hold", "[cli]") {
  CHECK(parse({"trace", "-d", "9223372036854"}).trace.min_duration_ms == 9223372036854);
  CHECK_THROWS_WITH(parse({"trace", "-d", "9223372036855"}),
                    "--min-duration: expected an integer from 0 to 9223372036854, got "
                    "\"9223372036855\"");
  CHECK_THROWS_WITH(parse({"trace", "-d", "18446744073710"}), Catch::Contains("--min-duration"));
}

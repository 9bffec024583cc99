// SPDX-License-Identifier: Apache-2.0
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "config_rejection.h"

namespace execmond {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// A private directory under /tmp, removed with what the test put in it.
class ScratchDirectory {
 public:
  ScratchDirectory() {
    char path[] = "/tmp/execmond-config-test-XXXXXX";
    REQUIRE(mkdtemp(path) != nullptr);
    path_ = path;
  }
  ~ScratchDirectory() {
    for (const std::string& file : files_) std::remove(file.c_str());
    rmdir(path_.c_str());
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;

  const std::string& path() const { return path_; }

  std::string write(const std::string& name, const std::string& text) {
    const std::string file = path_ + "/" + name;
    std::ofstream(file, std::ios::binary) << text;
    files_.push_back(file);
    return file;
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

TEST_CASE("the shipped default config is the built-in default", "[config]") {
  const std::string on_disk = read_file(EXECMOND_SOURCE_DIR "/config/execmond.yaml");
  REQUIRE_FALSE(on_disk.empty());
  CHECK(embedded_default_config() == on_disk);
  // Every default but the binaries section: the shipped file turns the allow-list and
  // the package check on.
  Config shipped;
  shipped.packaged_binaries = true;
  shipped.allowed_binaries = {"/usr/bin/*",
                              "/usr/sbin/*",
                              "/usr/games/*",
                              "/usr/lib/**",
                              "/usr/lib32/**",
                              "/usr/lib64/**",
                              "/usr/libexec/**",
                              "/usr/share/**",
                              "/bin/*",
                              "/sbin/*",
                              "/lib/**",
                              "/lib64/**",
                              "/snap/**",
                              "/var/lib/dpkg/info/*",
                              "/var/lib/dpkg/tmp.ci/*",
                              "/etc/cron.*/*",
                              "/etc/update-motd.d/*",
                              "/etc/kernel/**",
                              "/etc/network/**",
                              "/etc/initramfs-tools/**",
                              "/etc/NetworkManager/dispatcher.d/**"};
  CHECK(parse_config(embedded_default_config(), "<embedded default>") == shipped);
  CHECK(load_config_file(EXECMOND_SOURCE_DIR "/config/execmond.yaml") == shipped);
}

TEST_CASE("a file with no settings means every default", "[config]") {
  const std::string yaml =
      GENERATE(as<std::string>{}, "", "\n", "# only\n  # comments\n", "---\n", "---\n...\n", "~\n");
  CAPTURE(yaml);
  CHECK(parse_config(yaml, "execmond.yaml") == Config{});
}

TEST_CASE("every key is read", "[config]") {
  const Config config = parse_config(R"(
listen: "127.0.0.1:9100"
min_duration: 1.5s
include_comms: [nginx, "python*"]
exclude_comms:
  - "*sh"
  - 'cron'
labels: [comm, unit, container]
include_units: [nginx.service, "user-*.slice"]
exclude_units: ['*.scope']
max_comm_series: 42
ring_buffer_size: 64KiB
poll_interval: 1s
log_level: debug
exec_failures: false
lifetime_histogram: false
)",
                                     "execmond.yaml");
  CHECK(config.series.unit_label);
  CHECK(config.series.container_label);
  CHECK(config.series.include_units == std::vector<std::string>{"nginx.service", "user-*.slice"});
  CHECK(config.series.exclude_units == std::vector<std::string>{"*.scope"});
  CHECK(config.listen == "127.0.0.1:9100");
  CHECK(config.min_duration == milliseconds{1500});
  CHECK(config.series.include_comms == std::vector<std::string>{"nginx", "python*"});
  CHECK(config.series.exclude_comms == std::vector<std::string>{"*sh", "cron"});
  CHECK(config.series.max_comm_series == 42);
  CHECK(config.ring_buffer_size == 65536);
  CHECK(config.poll_interval == milliseconds{1000});
  CHECK(config.log_level == spdlog::level::debug);
  CHECK(config.exec_failures == false);
  CHECK(config.series.lifetime_histogram == false);
}

TEST_CASE("lifetime_histogram is true or false, nothing else", "[config]") {
  CHECK(parse_config("lifetime_histogram: false\n", "x").series.lifetime_histogram == false);
  CHECK(Config{}.series.lifetime_histogram);
  CHECK(rejection("lifetime_histogram: off\n") ==
        "execmond.yaml:1:21: lifetime_histogram: expected true or false, got \"off\"");
}

TEST_CASE("series_ttl is 0 or a duration of at least a second", "[config]") {
  CHECK(Config{}.series.series_ttl == std::chrono::hours{192});
  CHECK(parse_config("series_ttl: 0\n", "x").series.series_ttl == milliseconds{0});
  CHECK(parse_config("series_ttl: 1s\n", "x").series.series_ttl == milliseconds{1000});
  CHECK(parse_config("series_ttl: 1.5s\n", "x").series.series_ttl == milliseconds{1500});
  CHECK(parse_config("series_ttl: 720h\n", "x").series.series_ttl == std::chrono::hours{720});
  const std::string expected = "expected 0 (never) or a duration of at least 1s, such as 192h";
  CHECK(rejection("series_ttl: 500ms\n") ==
        "execmond.yaml:1:13: series_ttl: " + expected + ", got \"500ms\"");
  CHECK(rejection("series_ttl: forever\n") ==
        "execmond.yaml:1:13: series_ttl: expected a duration such as 250ms or 2s, got "
        "\"forever\"");
  CHECK(rejection("series_ttl: 1.0000001s\n") ==
        "execmond.yaml:1:13: series_ttl: expected a whole number of milliseconds, got "
        "\"1.0000001s\"");
}

TEST_CASE("exec_failures is true or false, nothing else", "[config]") {
  CHECK(parse_config("exec_failures: true\n", "x").exec_failures);
  CHECK(rejection("exec_failures: yes\n") ==
        "execmond.yaml:1:16: exec_failures: expected true or false, got \"yes\"");
  CHECK(rejection("exec_failures: [true]\n").find("expected true or false") != std::string::npos);
}

TEST_CASE("keys left out keep their defaults", "[config]") {
  Config expected;
  expected.poll_interval = milliseconds{50};
  CHECK(parse_config("poll_interval: 50ms\n", "execmond.yaml") == expected);
  expected.series.exclude_comms = {"kworker*"};
  CHECK(parse_config("exclude_comms: ['kworker*']\npoll_interval: 50ms", "x") == expected);
}

TEST_CASE("accepted forms of each value", "[config]") {
  SECTION("listen is kept as written") {
    const std::string listen = GENERATE(as<std::string>{}, "0.0.0.0:9717", "127.0.0.1:0",
                                        "[::1]:9717", "[::]:80", ":9717", "9717");
    CHECK(parse_config("listen: \"" + listen + "\"", "x").listen == listen);
  }
  SECTION("web_config_file names a path") {
    CHECK(parse_config("", "x").web_config_file.empty());
    CHECK(parse_config("web_config_file: /etc/execmond/web.yml", "x").web_config_file ==
          "/etc/execmond/web.yml");
    CHECK_THROWS_WITH(parse_config("web_config_file: [a]", "x"),
                      "x:1:18: web_config_file: expected the path of a web configuration file, "
                      "got a list");
    CHECK_THROWS_WITH(parse_config("web_config_file: ''", "x"),
                      "x:1:18: web_config_file: expected the path of a web configuration file, "
                      "got \"\"");
  }
  SECTION("listen without quotes") {
    CHECK(parse_config("listen: 127.0.0.1:9717", "x").listen == "127.0.0.1:9717");
    CHECK(parse_config("listen: :9717", "x").listen == ":9717");
  }
  SECTION("min_duration") {
    const auto [text, expected] = GENERATE(table<std::string, nanoseconds>({
        {"0", nanoseconds{0}},
        {"0s", nanoseconds{0}},
        {"500us", nanoseconds{500'000}},
        {"\"250ms\"", milliseconds{250}},
        {"10m", std::chrono::minutes{10}},
        {"1h", std::chrono::hours{1}},
    }));
    CHECK(parse_config("min_duration: " + text, "x").min_duration == expected);
  }
  SECTION("empty lists") {
    const Config config = parse_config("include_comms: []\nexclude_comms: []", "x");
    CHECK(config.series.include_comms.empty());
    CHECK(config.series.exclude_comms.empty());
  }
  SECTION("list items that YAML would read as numbers or booleans are names") {
    CHECK(parse_config("include_comms: [123, yes, ~x]", "x").series.include_comms ==
          std::vector<std::string>{"123", "yes", "~x"});
  }
  SECTION("max_comm_series bounds") {
    CHECK(parse_config("max_comm_series: 1", "x").series.max_comm_series == 1);
    CHECK(parse_config("max_comm_series: 10000", "x").series.max_comm_series == 10000);
    CHECK(parse_config("max_comm_series: '500'", "x").series.max_comm_series == 500);
  }
  SECTION("ring_buffer_size bounds and units") {
    const auto [text, expected] = GENERATE(table<std::string, std::size_t>({
        {"64KiB", 65536},
        {"65536", 65536},
        {"1GiB", std::size_t{1} << 30},
        {"1073741824B", std::size_t{1} << 30},
        {"256MiB", std::size_t{256} << 20},
    }));
    CHECK(parse_config("ring_buffer_size: " + text, "x").ring_buffer_size == expected);
  }
  SECTION("poll_interval bounds and units") {
    const auto [text, expected] = GENERATE(table<std::string, milliseconds>({
        {"10ms", milliseconds{10}},
        {"10s", milliseconds{10'000}},
        {"1500ms", milliseconds{1500}},
        {"0.5s", milliseconds{500}},
        {"20000us", milliseconds{20}},
    }));
    CHECK(parse_config("poll_interval: " + text, "x").poll_interval == expected);
  }
  SECTION("log_level names") {
    const auto [text, expected] = GENERATE(table<std::string, spdlog::level::level_enum>({
        {"trace", spdlog::level::trace},
        {"debug", spdlog::level::debug},
        {"info", spdlog::level::info},
        {"warn", spdlog::level::warn},
        {"error", spdlog::level::err},
        {"critical", spdlog::level::critical},
        {"off", spdlog::level::off},
        {"\"off\"", spdlog::level::off},
    }));
    CHECK(parse_config("log_level: " + text, "x").log_level == expected);
  }
}

TEST_CASE("YAML syntax errors are located", "[config]") {
  CHECK_THAT(rejection("listen: [::]:9717\n"),
             Catch::StartsWith("execmond.yaml:1:13: invalid YAML: end of map not found"));
  CHECK(rejection("include_comms: [*sh]\n") ==
        "execmond.yaml:1:17: invalid YAML: the referenced anchor is not defined (a value starting "
        "with * is an alias in YAML: quote patterns such as \"*sh\")");
  CHECK(rejection("log_level: info\n\tlisten: x\n") ==
        "execmond.yaml:2:1: invalid YAML: illegal tab when looking for indentation");
  CHECK(rejection("log_level: info\nlisten: \"0.0.0.0:9717") ==
        "execmond.yaml:2:22: invalid YAML: illegal EOF in scalar");
  CHECK(rejection("min_duration: 1s\n  poll_interval: 1s\n") ==
        "execmond.yaml:2:16: invalid YAML: illegal map value");
}

// yaml-cpp 0.7 lets these through, as values holding every line after the opening quote.
TEST_CASE("quotes left open are rejected where they open", "[config]") {
  CHECK(rejection("log_level: info\nlisten: \"0.0.0.0:9717\n") ==
        "execmond.yaml:2:9: invalid YAML: expected a closing \" for the value that starts here");
  CHECK(rejection("include_comms:\n  - 'nginx\n  - sshd\n") ==
        "execmond.yaml:2:5: invalid YAML: expected a closing ' for the value that starts here");
  CHECK(rejection("\"listen: x\n") ==
        "execmond.yaml:1:1: invalid YAML: expected a closing \" for the value that starts here");
  CHECK(rejection("log_level: 'it''s\n") ==
        "execmond.yaml:1:12: invalid YAML: expected a closing ' for the value that starts here");
  CHECK(parse_config("include_comms: ['it''s', \"a\\\"b\"]", "x").series.include_comms ==
        std::vector<std::string>{"it's", "a\"b"});
}

TEST_CASE("the file holds one mapping of settings", "[config]") {
  CHECK(rejection("- listen\n") ==
        R"(execmond.yaml:1:1: expected settings as "key: value" lines such as )"
        R"("listen: 0.0.0.0:9717", got a list)");
  CHECK(rejection("\n\nlisten\n") ==
        R"(execmond.yaml:3:1: this is not an execmond configuration (expected settings as )"
        R"("key: value" lines such as "listen: 0.0.0.0:9717"; what the file holds is not shown))");
  CHECK(rejection("log_level: info\n---\nlog_level: debug\n") ==
        "execmond.yaml:2:3: expected a single YAML document, found a second one");
  CHECK(rejection("log_level: info\n---\n# nothing\n") ==
        "execmond.yaml:2:3: expected a single YAML document, found a second one");
}

TEST_CASE("unknown keys are rejected, with a suggestion when close", "[config]") {
  const auto [yaml, expected] = GENERATE(table<std::string, std::string>({
      {"lisen: x", R"(execmond.yaml:1:1: unknown key "lisen" (did you mean "listen"?))"},
      {"Listen: x", R"(execmond.yaml:1:1: unknown key "Listen" (did you mean "listen"?))"},
      {"log_level: info\nmin-duration: 1s",
       R"(execmond.yaml:2:1: unknown key "min-duration" (did you mean "min_duration"?))"},
      {"  loglevel: info",
       R"(execmond.yaml:1:3: unknown key "loglevel" (did you mean "log_level"?))"},
      {"ring_buffer: 4MiB",
       R"(execmond.yaml:1:1: unknown key "ring_buffer" (did you mean "ring_buffer_size"?))"},
      {"include_comm: []",
       R"(execmond.yaml:1:1: unknown key "include_comm" (did you mean "include_comms"?))"},
      {"{log_level: info, poll_intervall: 1s}",
       R"(execmond.yaml:1:19: unknown key "poll_intervall" (did you mean "poll_interval"?))"},
      {"port: 9717",
       R"(execmond.yaml:1:1: unknown key "port" (known keys: listen, min_duration, exec_failures, )"
       R"(include_comms, exclude_comms, labels, include_units, exclude_units, max_comm_series, )"
       R"(lifetime_histogram, series_ttl, ring_buffer_size, poll_interval, log_level, )"
       R"(web_config_file, )"
       R"(binaries))"},
      {"\"a\\tb\": 1",
       R"(execmond.yaml:1:1: this is not an execmond configuration (expected settings as )"
       R"("key: value" lines such as "listen: 0.0.0.0:9717"; what the file holds is not shown))"},
  }));
  CAPTURE(yaml);
  CHECK(rejection(yaml) == expected);
}

TEST_CASE("keys that are not names are rejected", "[config]") {
  CHECK(rejection("[listen]: x\n") ==
        R"(execmond.yaml:1:1: expected a setting name such as "listen", got a list)");
  CHECK(rejection("log_level: info\n? {a: 1}\n: x\n") ==
        R"(execmond.yaml:2:3: expected a setting name such as "listen", got a map)");
  CHECK(rejection(": x\n") ==
        R"(execmond.yaml:1:1: expected a setting name such as "listen", got nothing)");
}

TEST_CASE("duplicate keys are rejected", "[config]") {
  CHECK(rejection("log_level: info\nlisten: :1\nlog_level: warn\n") ==
        R"(execmond.yaml:3:1: duplicate key "log_level" (first set on line 1))");
  CHECK(rejection("{listen: ':1', listen: ':2'}") ==
        R"(execmond.yaml:1:16: duplicate key "listen" (first set on line 1))");
  CHECK(rejection("include_comms: []\ninclude_comms: [a]\n") ==
        R"(execmond.yaml:2:1: duplicate key "include_comms" (first set on line 1))");
}

TEST_CASE("values of the wrong type are rejected where they are", "[config]") {
  constexpr char kListen[] =
      R"(listen: expected host:port such as 0.0.0.0:9717 or "[::]:9717" (quote IPv6 addresses))";
  constexpr char kPatterns[] =
      R"(include_comms: expected a list of patterns such as ["nginx", "python*"] ([] for none))";
  const auto [yaml, expected] = GENERATE_COPY(table<std::string, std::string>({
      {"listen:", std::string("execmond.yaml:1:1: ") + kListen + ", got nothing"},
      {"listen:   # later\n\nlog_level: info",
       std::string("execmond.yaml:1:1: ") + kListen + ", got nothing"},
      {"log_level: info\nlisten: ~",
       std::string("execmond.yaml:2:1: ") + kListen + ", got nothing"},
      {"listen: null", std::string("execmond.yaml:1:1: ") + kListen + ", got nothing"},
      {"listen: ['::1']", std::string("execmond.yaml:1:9: ") + kListen + ", got a list"},
      {"listen:\n  host: 127.0.0.1\n  port: 9717",
       std::string("execmond.yaml:2:3: ") + kListen + ", got a map"},
      {"min_duration: [1s]",
       "execmond.yaml:1:15: min_duration: expected a duration such as 250ms or 2s, got a list"},
      {"min_duration:",
       "execmond.yaml:1:1: min_duration: expected a duration such as 250ms or 2s, got nothing"},
      {"include_comms: nginx",
       std::string("execmond.yaml:1:16: ") + kPatterns + R"(, got "nginx")"},
      {"include_comms:", std::string("execmond.yaml:1:1: ") + kPatterns + ", got nothing"},
      {"include_comms: {nginx: 1}",
       std::string("execmond.yaml:1:16: ") + kPatterns + ", got a map"},
      {"exclude_comms: ''",
       R"(execmond.yaml:1:16: exclude_comms: expected a list of patterns such as ["nginx", )"
       R"("python*"] ([] for none), got "")"},
      {"max_comm_series: [1]",
       "execmond.yaml:1:18: max_comm_series: expected a whole number from 1 to 10000, got a list"},
      {"ring_buffer_size:",
       "execmond.yaml:1:1: ring_buffer_size: expected a power of two from 64KiB to 1GiB, such as "
       "4MiB, got nothing"},
      {"poll_interval: {}",
       "execmond.yaml:1:16: poll_interval: expected a duration from 10ms to 10s, got a map"},
      {"log_level: [info]",
       "execmond.yaml:1:12: log_level: expected one of trace, debug, info, warn, error, critical, "
       "off, got a list"},
  }));
  CAPTURE(yaml);
  CHECK(rejection(yaml) == expected);
}

TEST_CASE("list items that are not patterns are rejected where they are", "[config]") {
  constexpr char kPattern[] = R"(expected a pattern such as "nginx" or "python*")";
  const auto [yaml, expected] = GENERATE_COPY(table<std::string, std::string>({
      {"exclude_comms:\n  - sshd\n  - [a, b]\n",
       std::string("execmond.yaml:3:5: exclude_comms[1]: ") + kPattern + ", got a list"},
      {"include_comms:\n- sshd\n- {a: b}\n",
       std::string("execmond.yaml:3:3: include_comms[1]: ") + kPattern + ", got a map"},
      {"include_comms:\n  - a\n  -    # none yet\n\n  - b\n",
       std::string("execmond.yaml:3:3: include_comms[1]: ") + kPattern + ", got nothing"},
      {"include_comms:\n  - a\n  -\n",
       std::string("execmond.yaml:3:3: include_comms[1]: ") + kPattern + ", got nothing"},
      {"include_comms: [a, ~]",
       std::string("execmond.yaml:1:20: include_comms[1]: ") + kPattern + ", got nothing"},
      {"include_comms:\n  - null\n",
       std::string("execmond.yaml:2:5: include_comms[0]: ") + kPattern + ", got nothing"},
      {"include_comms: [a, null]",
       std::string("execmond.yaml:1:20: include_comms[1]: ") + kPattern + ", got nothing"},
      {"include_comms:\n  - a\n  -\nnull_key: x\n",
       std::string("execmond.yaml:3:3: include_comms[1]: ") + kPattern + ", got nothing"},
  }));
  CAPTURE(yaml);
  CHECK(rejection(yaml) == expected);
}

TEST_CASE("patterns that cannot work are rejected", "[config]") {
  CHECK(rejection("include_comms: ['']") ==
        R"(execmond.yaml:1:17: include_comms[0]: expected a non-empty pattern such as "nginx" or )"
        R"("python*", got "")");
  CHECK(rejection("exclude_comms: [ok, '[abc']") ==
        R"(execmond.yaml:1:21: exclude_comms[1]: expected a ] closing the [ at byte 1 )"
        R"((write \[ to match a [), got "[abc")");
  CHECK(rejection("include_comms: ['a\\']") ==
        R"(execmond.yaml:1:17: include_comms[0]: expected a character after the last \ )"
        R"((write \\ for a backslash), got "a\\")");
  CHECK(rejection("include_comms:\n  - nginx\n  - systemd-journald\n") ==
        R"(execmond.yaml:3:5: include_comms[1]: expected a pattern that can match a process name, )"
        R"(which the kernel cuts to 15 bytes (it sees "systemd-journal"), got "systemd-journald")");
}

TEST_CASE("labels: comm, optionally unit and container", "[config]") {
  CHECK_FALSE(parse_config("labels: [comm]", "x").series.unit_label);
  const Config unit = parse_config("labels: [comm, unit]", "x");
  CHECK(unit.series.unit_label);
  CHECK_FALSE(unit.series.container_label);
  CHECK(parse_config("labels:\n  - container\n  - comm\n  - unit\n", "x").series.container_label);
  const auto [yaml, expected] = GENERATE(table<std::string, std::string>({
      {"labels: comm", R"(execmond.yaml:1:9: labels: expected a list of labels such as [comm] or )"
                       R"([comm, unit, container], got "comm")"},
      {"labels: [comm, pod]",
       R"(execmond.yaml:1:16: labels[1]: expected comm, unit or container, got "pod")"},
      {"labels:\n  - comm\n  - unit\n  - unit\n",
       R"(execmond.yaml:4:5: labels[2]: expected each label once, got "unit")"},
      {"labels: [comm, [unit]]",
       R"(execmond.yaml:1:16: labels[1]: expected comm, unit or container, got a list)"},
      {"labels: [unit]",
       R"(execmond.yaml:1:9: labels: expected a list that includes comm, such as [comm, unit], )"
       R"(got a list)"},
      {"labels: []",
       R"(execmond.yaml:1:9: labels: expected a list that includes comm, such as [comm, unit], )"
       R"(got a list)"},
      {"include_units: ['[x']\nlabels: [comm, unit]",
       R"(execmond.yaml:1:17: include_units[0]: expected a ] closing the [ at byte 1 )"
       R"((write \[ to match a [), got "[x")"},
      {"log_level: info\nexclude_units: [a.service]\n",
       R"(execmond.yaml:2:1: exclude_units: filters on the unit label, which needs )"
       R"(labels: [comm, unit])"},
  }));
  CAPTURE(yaml);
  CHECK(rejection(yaml) == expected);
  // Empty unit filters need no unit label.
  CHECK(parse_config("include_units: []\nexclude_units: []", "x") == Config{});
}

TEST_CASE("values that do not parse say what was expected and what was found", "[config]") {
  const auto [yaml, expected] = GENERATE(table<std::string, std::string>({
      // listen
      {"listen: localhost:9717",
       "execmond.yaml:1:9: listen: expected an IPv4 address or a bracketed IPv6 address before "
       "the port, such as 127.0.0.1:9717 or [::1]:9717 (host names are not resolved), got "
       "\"localhost:9717\""},
      {"listen: '127.0.0.1:70000'",
       "execmond.yaml:1:9: listen: expected a port from 0 to 65535 after the colon, got "
       "\"127.0.0.1:70000\""},
      {"listen: ''",
       "execmond.yaml:1:9: listen: expected host:port such as 127.0.0.1:9717, [::1]:9717 or "
       ":9717, got \"\""},
      {"listen: \"::1:9717\"",
       "execmond.yaml:1:9: listen: expected an IPv6 address in brackets, such as [::1]:9717, got "
       "\"::1:9717\""},
      {"listen: |\n  127.0.0.1:9717\n",
       "execmond.yaml:1:9: listen: expected a port from 0 to 65535 after the colon, got "
       "\"127.0.0.1:9717\\n\""},
      // min_duration
      {"log_level: info\n\nmin_duration: fast",
       "execmond.yaml:3:15: min_duration: expected a duration such as 250ms or 2s, got \"fast\""},
      {"min_duration:     -1s",
       "execmond.yaml:1:19: min_duration: expected a duration that is not negative, such as "
       "250ms, got \"-1s\""},
      {"min_duration: 250",
       "execmond.yaml:1:15: min_duration: expected a unit after the number (ns, us, ms, s, m or "
       "h), such as 250ms, got \"250\""},
      {"min_duration: 2 sec",
       "execmond.yaml:1:15: min_duration: expected a duration unit (ns, us, ms, s, m or h) after "
       "the number, got \"2 sec\""},
      {"min_duration: 3000000h",
       "execmond.yaml:1:15: min_duration: expected a duration shorter than 292 years, got "
       "\"3000000h\""},
      // max_comm_series
      {"max_comm_series: 0",
       "execmond.yaml:1:18: max_comm_series: expected a whole number from 1 to 10000, got \"0\""},
      {"max_comm_series: 10001",
       "execmond.yaml:1:18: max_comm_series: expected a whole number from 1 to 10000, got "
       "\"10001\""},
      {"max_comm_series: -5",
       "execmond.yaml:1:18: max_comm_series: expected a whole number from 1 to 10000, got \"-5\""},
      {"max_comm_series: 1.5",
       "execmond.yaml:1:18: max_comm_series: expected a whole number from 1 to 10000, got "
       "\"1.5\""},
      {"max_comm_series: 1e3",
       "execmond.yaml:1:18: max_comm_series: expected a whole number from 1 to 10000, got "
       "\"1e3\""},
      {"max_comm_series: '100 '",
       "execmond.yaml:1:18: max_comm_series: expected a whole number from 1 to 10000, got "
       "\"100 \""},
      {"max_comm_series: 99999999999999999999999",
       "execmond.yaml:1:18: max_comm_series: expected a whole number from 1 to 10000, got "
       "\"99999999999999999999999\""},
      {"max_comm_series: lots",
       "execmond.yaml:1:18: max_comm_series: expected a whole number from 1 to 10000, got "
       "\"lots\""},
      // ring_buffer_size
      {"ring_buffer_size: 4MB",
       "execmond.yaml:1:19: ring_buffer_size: expected a power of two from 64KiB to 1GiB, such as "
       "4MiB, got \"4MB\" (4000000 bytes)"},
      {"ring_buffer_size: 3MiB",
       "execmond.yaml:1:19: ring_buffer_size: expected a power of two from 64KiB to 1GiB, such as "
       "4MiB, got \"3MiB\" (3145728 bytes)"},
      {"ring_buffer_size: 32KiB",
       "execmond.yaml:1:19: ring_buffer_size: expected a power of two from 64KiB to 1GiB, such as "
       "4MiB, got \"32KiB\" (32768 bytes)"},
      {"ring_buffer_size: 2GiB",
       "execmond.yaml:1:19: ring_buffer_size: expected a power of two from 64KiB to 1GiB, such as "
       "4MiB, got \"2GiB\" (2147483648 bytes)"},
      {"ring_buffer_size: 100000",
       "execmond.yaml:1:19: ring_buffer_size: expected a power of two from 64KiB to 1GiB, such as "
       "4MiB, got \"100000\""},
      {"ring_buffer_size: 4 megs",
       "execmond.yaml:1:19: ring_buffer_size: expected a size such as 4MiB, 64KiB or 65536 "
       "(bytes), got \"4 megs\""},
      {"ring_buffer_size: 4mib",
       "execmond.yaml:1:19: ring_buffer_size: expected a size unit: B, KiB, MiB, GiB, TiB (powers "
       "of 1024) or kB, MB, GB, TB (powers of 1000), got \"4mib\""},
      // poll_interval
      {"poll_interval: 5ms",
       "execmond.yaml:1:16: poll_interval: expected a duration from 10ms to 10s, got \"5ms\""},
      {"poll_interval: 0",
       "execmond.yaml:1:16: poll_interval: expected a duration from 10ms to 10s, got \"0\""},
      {"poll_interval: 11s",
       "execmond.yaml:1:16: poll_interval: expected a duration from 10ms to 10s, got \"11s\""},
      {"poll_interval: 1500500us",
       "execmond.yaml:1:16: poll_interval: expected a whole number of milliseconds, got "
       "\"1500500us\""},
      {"poll_interval: 200",
       "execmond.yaml:1:16: poll_interval: expected a unit after the number (ns, us, ms, s, m or "
       "h), such as 250ms, got \"200\""},
      // log_level
      {"log_level: verbose",
       "execmond.yaml:1:12: log_level: expected one of trace, debug, info, warn, error, critical, "
       "off, got \"verbose\""},
      {"log_level: INFO",
       "execmond.yaml:1:12: log_level: expected one of trace, debug, info, warn, error, critical, "
       "off, got \"INFO\""},
      {"log_level: warning",
       "execmond.yaml:1:12: log_level: expected one of trace, debug, info, warn, error, critical, "
       "off, got \"warning\""},
  }));
  CAPTURE(yaml);
  CHECK(rejection(yaml) == expected);
}

TEST_CASE("what was found is shown escaped and cut when long", "[config]") {
  CHECK(rejection("log_level: \"a\\tb\\\"c\\\\d\\x01\"") ==
        "execmond.yaml:1:12: log_level: expected one of trace, debug, info, warn, error, "
        "critical, off, got \"a\\tb\\\"c\\\\d\\x01\"");
  CHECK(rejection("log_level: " + std::string(100, 'x')) ==
        "execmond.yaml:1:12: log_level: expected one of trace, debug, info, warn, error, "
        "critical, off, got \"" +
            std::string(60, 'x') + "\"...");
}

TEST_CASE("the source name starts every message", "[config]") {
  CHECK(rejection("{").rfind("execmond.yaml:", 0) == 0);
  try {
    parse_config("\n  listen: nowhere", "/etc/execmond/execmond.yaml");
    FAIL("accepted");
  } catch (const ConfigError& error) {
    CHECK(std::string(error.what()) ==
          "/etc/execmond/execmond.yaml:2:11: listen: expected host:port such as 127.0.0.1:9717, "
          "[::1]:9717 or :9717, got \"nowhere\"");
  }
}

TEST_CASE("config files are read from disk", "[config]") {
  ScratchDirectory scratch;
  SECTION("a readable file is parsed") {
    const std::string path = scratch.write("good.yaml", "log_level: warn\n");
    CHECK(load_config_file(path).log_level == spdlog::level::warn);
  }
  SECTION("mistakes are reported against the path") {
    const std::string path = scratch.write("bad.yaml", "log_level: warn\nlisen: x\n");
    try {
      load_config_file(path);
      FAIL("accepted");
    } catch (const ConfigError& error) {
      CHECK(std::string(error.what()) ==
            path + R"(:2:1: unknown key "lisen" (did you mean "listen"?))");
    }
  }
  SECTION("a missing file") {
    const std::string path = scratch.path() + "/missing.yaml";
    try {
      load_config_file(path);
      FAIL("accepted");
    } catch (const ConfigError& error) {
      CHECK(std::string(error.what()) == "cannot read " + path + ": No such file or directory");
    }
  }
  SECTION("a directory") {
    try {
      load_config_file(scratch.path());
      FAIL("accepted");
    } catch (const ConfigError& error) {
      CHECK(std::string(error.what()) ==
            "cannot read " + scratch.path() + ": it is a directory, not a configuration file");
    }
  }
  // Regressions: /dev/zero was read until memory ran out, a FIFO hung forever.
  SECTION("a device") {
    CHECK_THROWS_WITH(load_config_file("/dev/zero"),
                      "cannot read /dev/zero: it is a character device, not a configuration file");
  }
  SECTION("a FIFO nobody writes") {
    const std::string path = scratch.path() + "/fifo";
    REQUIRE(mkfifo(path.c_str(), 0600) == 0);
    CHECK_THROWS_WITH(load_config_file(path),
                      "cannot read " + path + ": it is a FIFO, not a configuration file");
    std::remove(path.c_str());
  }
  SECTION("a file too large to be a configuration") {
    const std::string path = scratch.write("huge.yaml", std::string((1 << 20) + 1, '#'));
    CHECK_THROWS_WITH(
        load_config_file(path),
        "cannot read " + path + ": larger than 1024 KiB, which no execmond configuration is");
  }
}

// Regression: `--config /etc/shadow` echoed a password hash line in its error.
TEST_CASE("errors never echo a foreign file's lines", "[config]") {
  const std::string secret = "s3cr3tHashValue";
  for (const std::string& text :
       {"root:$y$j9T$" + secret + ":19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
        "root:$y$j9T$" + secret + "\n", "password = " + secret + "\n",
        "[client]\npassword=" + secret + "\n"}) {
    CAPTURE(text);
    const std::string error = rejection(text);
    CHECK(error.find(secret) == std::string::npos);
    CHECK_THAT(error, Catch::StartsWith("execmond.yaml:"));
  }
}

// Regression: nesting past yaml-cpp's depth limit was reported as "bad file".
TEST_CASE("YAML nested too deep says so", "[config]") {
  const std::string deep = "a: " + std::string(3000, '[') + std::string(3000, ']') + "\n";
  CHECK_THAT(rejection(deep),
             Catch::Contains("invalid YAML: nested more than") && Catch::Contains("levels deep"));
}

// Issue 17: yaml-cpp's LoadAll looped forever, allocating, on a stray "," (2.8 GB in 10 s
// for a 349-byte file found by fuzzing). Refused at once now, located.
TEST_CASE("YAML that yaml-cpp's LoadAll never finished is refused at once", "[config]") {
  CHECK(
      rejection(",") ==
      R"(execmond.yaml:1:1: invalid YAML: unexpected "," here (quote a value that starts with it))");
  CHECK(
      rejection("log_level: info\n...\n,\n") ==
      R"(execmond.yaml:3:1: invalid YAML: unexpected "," here (quote a value that starts with it))");
  CHECK(
      rejection("[a]\n,") ==
      R"(execmond.yaml:2:1: invalid YAML: unexpected "," here (quote a value that starts with it))");
  CHECK(rejection("log_level: info\n---\n,\n") ==
        "execmond.yaml:2:3: expected a single YAML document, found a second one");
  // The fuzzer's own input, as found (tests/fuzz/corpus/config/).
  const auto started = std::chrono::steady_clock::now();
  const std::string path = std::string(EXECMOND_SOURCE_DIR) +
                           "/tests/fuzz/corpus/config/yaml-cpp-loadall-loop-349b.yaml";
  try {
    load_config_file(path);
    FAIL("accepted");
  } catch (const ConfigError& error) {
    CHECK_THAT(error.what(), Catch::EndsWith(":1:1: invalid YAML: unexpected \",\" here "
                                             "(quote a value that starts with it)"));
  }
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
}

// Issue 17: an unquoted IPv6 listen address got "end of map not found" and no hint.
TEST_CASE("an unquoted [::]:port says to quote it", "[config]") {
  CHECK(rejection("listen: [::]:9717\n") ==
        "execmond.yaml:1:13: invalid YAML: end of map not found (a value starting with [ is a "
        "list in YAML: quote IPv6 addresses, such as listen: \"[::]:9717\")");
  CHECK(rejection("log_level: info\nlisten: [::1]:9717 # ipv6\n") ==
        "execmond.yaml:2:14: invalid YAML: end of map not found (a value starting with [ is a "
        "list in YAML: quote IPv6 addresses, such as listen: \"[::]:9717\")");
  CHECK(rejection("include_comms: [a]x\n") ==
        "execmond.yaml:1:19: invalid YAML: end of map not found (a value starting with [ is a "
        "list in YAML: quote the whole value of include_comms)");
  CHECK(parse_config("listen: \"[::]:9717\"\n", "x").listen == "[::]:9717");
}

// Found by fuzz_config and fuzz_web_config: the hint's search for the key of an unquoted
// "[" threw std::out_of_range (ending the daemon) on a line of "key:" and blanks.
TEST_CASE("the quoting hint survives a key with nothing after it", "[config]") {
  CHECK_THAT(rejection("[el: "), Catch::StartsWith("execmond.yaml:1:"));
  CHECK_THAT(rejection("a: [b\nkey:   \n"), Catch::StartsWith("execmond.yaml:"));
  for (const char* reproducer :
       {"/tests/fuzz/corpus/config/quoting-hint-key-with-no-value-157b",
        "/tests/fuzz/corpus/web_config/quoting-hint-key-with-no-value-95b"}) {
    CHECK_THAT(rejection(read_file(std::string(EXECMOND_SOURCE_DIR) + reproducer)),
               Catch::StartsWith("execmond.yaml:"));
  }
}

TEST_CASE("configs compare equal field by field", "[config]") {
  const Config defaults;
  CHECK(Config{} == defaults);
  Config changed;
  SECTION("listen") { changed.listen = ":1"; }
  SECTION("min_duration") { changed.min_duration = nanoseconds{1}; }
  SECTION("exec_failures") { changed.exec_failures = false; }
  SECTION("include_comms") { changed.series.include_comms = {"a"}; }
  SECTION("exclude_comms") { changed.series.exclude_comms = {"a"}; }
  SECTION("unit_label") { changed.series.unit_label = true; }
  SECTION("container_label") { changed.series.container_label = true; }
  SECTION("include_units") { changed.series.include_units = {"a"}; }
  SECTION("exclude_units") { changed.series.exclude_units = {"a"}; }
  SECTION("max_comm_series") { changed.series.max_comm_series = 1; }
  SECTION("ring_buffer_size") { changed.ring_buffer_size = 65536; }
  SECTION("poll_interval") { changed.poll_interval = milliseconds{10}; }
  SECTION("log_level") { changed.log_level = spdlog::level::off; }
  SECTION("lifetime_histogram") { changed.series.lifetime_histogram = false; }
  SECTION("series_ttl") { changed.series.series_ttl = milliseconds{1000}; }
  SECTION("web_config_file") { changed.web_config_file = "web.yml"; }
  SECTION("allowed_binaries") { changed.allowed_binaries = std::vector<std::string>{"/a"}; }
  CHECK_FALSE(changed == defaults);
}

}  // namespace
}  // namespace execmond

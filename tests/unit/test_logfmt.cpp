#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "service/logfmt.h"
#include "service/logging.h"

namespace execmond {
namespace {

std::string quoted(std::string_view bytes) {
  std::string out;
  append_logfmt_value(out, bytes);
  return out;
}

// A logfmt reader, written independently of the writer: key=value pairs separated by
// one space, a value either bare or "quoted" with \" \\ \n \r \t \xHH escapes. Fails the
// test on anything else.
std::vector<std::pair<std::string, std::string>> parse_logfmt(const std::string& line) {
  std::vector<std::pair<std::string, std::string>> fields;
  std::size_t at = 0;
  while (at < line.size()) {
    const std::size_t equals = line.find('=', at);
    REQUIRE(equals != std::string::npos);
    std::string key = line.substr(at, equals - at);
    REQUIRE(key.find_first_of(" \"\\") == std::string::npos);
    at = equals + 1;
    std::string value;
    if (at < line.size() && line[at] == '"') {
      for (++at;; ++at) {
        REQUIRE(at < line.size());
        const char c = line[at];
        if (c == '"') break;
        if (c != '\\') {
          REQUIRE(static_cast<unsigned char>(c) >= 0x20);
          value += c;
          continue;
        }
        REQUIRE(at + 1 < line.size());
        const char e = line[++at];
        if (e == 'n') {
          value += '\n';
        } else if (e == 'r') {
          value += '\r';
        } else if (e == 't') {
          value += '\t';
        } else if (e == '"' || e == '\\') {
          value += e;
        } else {
          REQUIRE(e == 'x');
          REQUIRE(at + 2 < line.size());
          value += static_cast<char>(std::stoi(line.substr(at + 1, 2), nullptr, 16));
          at += 2;
        }
      }
      ++at;  // the closing quote
    } else {
      const std::size_t end = line.find(' ', at);
      value = line.substr(at, end == std::string::npos ? std::string::npos : end - at);
      at = end == std::string::npos ? line.size() : end;
    }
    fields.emplace_back(std::move(key), std::move(value));
    if (at < line.size()) {
      REQUIRE(line[at] == ' ');
      ++at;
    }
  }
  return fields;
}

}  // namespace

TEST_CASE("logfmt values are quoted and escaped, one text per byte string") {
  CHECK(quoted("") == R"("")");
  CHECK(quoted("/usr/bin/true") == R"("/usr/bin/true")");
  CHECK(quoted("a b=c") == R"("a b=c")");
  CHECK(quoted("say \"hi\"") == R"("say \"hi\"")");
  CHECK(quoted("a\\x41") == R"("a\\x41")");
  CHECK(quoted("l1\nl2\r\t") == R"("l1\nl2\r\t")");
  CHECK(quoted(std::string("\x00\x1b[31m\x7f", 7)) == R"("\x00\x1b[31m\x7f")");
  CHECK(quoted("caf\xc3\xa9") == "\"caf\xc3\xa9\"");                       // valid UTF-8 kept
  CHECK(quoted("\xff\xc3(\xe0\x80\x80") == R"("\xff\xc3(\xe0\x80\x80")");  // invalid: escaped
  CHECK(quoted("\xed\xa0\x80") == R"("\xed\xa0\x80")");                    // a surrogate
  CHECK(quoted("\xf4\x90\x80\x80") == R"("\xf4\x90\x80\x80")");            // above U+10FFFF
}

TEST_CASE("every byte string reads back from its logfmt value") {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::vector<std::string> names = {all,
                                          "a interpreter=- comm=sshd pid=1 ppid=0 uid=0",
                                          "x\" comm=\"sshd",
                                          "\\\"",
                                          "\n",
                                          "tab\tand\\n literal",
                                          "\xc3\xa9\xff\xfe"};
  for (const std::string& name : names) {
    std::string line = "k=";
    append_logfmt_value(line, name);
    const auto fields = parse_logfmt(line);
    REQUIRE(fields.size() == 1);
    CHECK(fields[0].second == name);
    CHECK(line.find('\n') == std::string::npos);
  }
}

TEST_CASE("log lines are logfmt: a hostile value cannot forge a field or a line") {
  std::ostringstream stream;
  const auto logger =
      make_logger(std::make_shared<spdlog::sinks::ostream_sink_st>(stream), /*journal=*/false);
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  const std::string hostile = "a interpreter=- comm=sshd pid=1\nts=x level=info msg=\"forged\"";
  log_event(spdlog::level::warn, "unexpected exec",
            {{"path", hostile}, {"comm", "sp ace"}, {"pid", "42"}});
  spdlog::info("plain message with \"quotes\" and\na newline {}", std::string("\xff"));
  spdlog::set_default_logger(previous);

  std::vector<std::string> lines;
  std::istringstream read(stream.str());
  for (std::string line; std::getline(read, line);) lines.push_back(line);
  REQUIRE(lines.size() == 2);

  const auto event = parse_logfmt(lines[0]);
  REQUIRE(event.size() == 6);
  CHECK(event[0].first == "ts");
  CHECK(event[1] == std::pair<std::string, std::string>{"level", "warning"});
  CHECK(event[2] == std::pair<std::string, std::string>{"msg", "unexpected exec"});
  CHECK(event[3] == std::pair<std::string, std::string>{"path", hostile});
  CHECK(event[4] == std::pair<std::string, std::string>{"comm", "sp ace"});
  CHECK(event[5] == std::pair<std::string, std::string>{"pid", "42"});

  const auto plain = parse_logfmt(lines[1]);
  REQUIRE(plain.size() == 3);
  CHECK(plain[1].second == "info");
  CHECK(plain[2] == std::pair<std::string, std::string>{
                        "msg", "plain message with \"quotes\" and\na newline \xff"});
}

TEST_CASE("under journald a message is one line with its priority, escaped") {
  std::ostringstream stream;
  const auto logger =
      make_logger(std::make_shared<spdlog::sinks::ostream_sink_st>(stream), /*journal=*/true);
  logger->warn("two\nlines \"q\"");
  CHECK(stream.str() == "<4>two\\nlines \\\"q\\\"\n");
}

}  // namespace execmond

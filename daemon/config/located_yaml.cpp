// SPDX-License-Identifier: Apache-2.0
#include "config/located_yaml.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string_view>
#include <system_error>

#include "config/parse_bound.h"
#include "service/file_descriptor.h"
#include "service/file_kind.h"

namespace execmond {
namespace {

// Levenshtein distance, ignoring case: "Listen" and "lisen" are both near "listen".
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      const std::size_t substituted = diagonal + (same ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substituted});
    }
  }
  return row[b.size()];
}

// Setting names are short identifiers. Anything else means this is not an execmond file
// (`--config /etc/shadow`): say so without echoing what the foreign file holds.
bool looks_like_setting_name(std::string_view key) {
  constexpr std::size_t kMaxShownKey = 40;
  return !key.empty() && key.size() <= kMaxShownKey &&
         std::all_of(key.begin(), key.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
         });
}

// A configuration is a few KiB: anything larger is not one (a mistyped --config
// /dev/zero would otherwise be read until memory runs out).
constexpr std::size_t kMaxConfigFileSize = std::size_t{1} << 20;

// Records where each document starts and nothing else.
class DocumentStarts final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> marks;

  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The key of the line at `mark` when its value is an unquoted "[...]" with more after the
// "]" (an IPv6 address and port), or "".
std::string key_of_unquoted_bracket(const std::string& text, const YAML::Mark& mark) {
  if (mark.is_null() || mark.pos < 0 || static_cast<std::size_t>(mark.pos) > text.size()) return {};
  const std::size_t newline = text.rfind('\n', static_cast<std::size_t>(mark.pos) - (mark.pos > 0));
  const std::size_t start = newline == std::string::npos ? 0 : newline + 1;
  const std::string_view line =
      std::string_view(text).substr(start, text.find('\n', start) - std::min(start, text.size()));
  const std::size_t key_start = line.find_first_not_of(" \t");
  const std::size_t colon = line.find(": ");
  if (key_start == std::string_view::npos || colon == std::string_view::npos || colon < key_start) {
    return {};
  }
  const std::string_view key = line.substr(key_start, colon - key_start);
  const std::size_t value_start = line.find_first_not_of(" \t", colon + 1);
  if (value_start == std::string_view::npos) return {};  // "key: " and blanks (fuzz_config)
  const std::string_view value = line.substr(value_start);
  const std::size_t close = value.find(']');
  if (value.front() != '[' || close == std::string_view::npos || close + 1 >= value.size() ||
      value[close + 1] == ' ' || value[close + 1] == '#' || !looks_like_setting_name(key)) {
    return {};
  }
  return std::string(key);
}

}  // namespace

const char* const kNotAConfigFile =
    "this is not an execmond configuration (expected settings as \"key: value\" lines such as "
    "\"listen: 0.0.0.0:9717\"; what the file holds is not shown)";

std::string quoted(std::string_view text) {
  constexpr std::size_t kMaxShown = 60;
  std::string shown = "\"";
  std::size_t i = 0;
  for (; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (i >= kMaxShown && (c & 0xC0) != 0x80) break;  // cut between UTF-8 characters
    if (c == '"' || c == '\\') {
      shown += '\\';
      shown += static_cast<char>(c);
    } else if (c == '\n') {
      shown += "\\n";
    } else if (c == '\t') {
      shown += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      shown += escaped;
    } else {
      shown += static_cast<char>(c);
    }
  }
  shown += '"';
  if (i < text.size()) shown += "...";
  return shown;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return quoted(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

std::string unknown_key_message(const std::string& key,
                                const std::vector<std::string_view>& known) {
  if (!looks_like_setting_name(key)) return kNotAConfigFile;
  std::string_view closest;
  std::size_t closest_distance = 0;
  for (const std::string_view name : known) {
    const std::size_t distance = edit_distance(key, name);
    if (closest.empty() || distance < closest_distance) {
      closest = name;
      closest_distance = distance;
    }
  }
  std::string message = "unknown key " + quoted(key);
  // A third of the name may be wrong and it still reads as a typo ("ring_buffer").
  if (!closest.empty() && closest_distance <= std::max<std::size_t>(2, closest.size() / 3)) {
    return message + " (did you mean \"" + std::string(closest) + "\"?)";
  }
  message += " (known keys:";
  for (std::size_t i = 0; i < known.size(); ++i) {
    message += ' ';
    message += known[i];
    if (i + 1 < known.size()) message += ',';
  }
  return message + ")";
}

namespace {
// yaml-cpp 0.7 (Debian 12) says "the referenced anchor is not defined", 0.8 (Debian 13)
// appends ": NAME". Both get the same message, whose position already points at the name.
bool is_unknown_anchor(const std::string& message) {
  std::string_view known = YAML::ErrorMsg::UNKNOWN_ANCHOR;
  while (!known.empty() && (known.back() == ' ' || known.back() == ':')) known.remove_suffix(1);
  return std::string_view(message).substr(0, known.size()) == known;
}
}  // namespace

YAML::Node load_single_document(const ConfigSource& source) {
  // Whatever yaml-cpp does with these bytes, a child process proves first that it ends
  // within a budget (parse_bound.h); the daemon turns this on, the tests need not.
  if (const std::string& executable = yaml_parse_bound(); !executable.empty()) {
    prove_parse_terminates(source.text(), source.name(), executable,
                           ParseBudget::for_text(source.text().size()));
  }
  try {
    // Where each document starts, in one pass that builds nothing. Never YAML::LoadAll:
    // in yaml-cpp 0.7 and 0.8 (Debian 12 and 13) it loops forever, allocating a null
    // document per turn, on a token no document can start with (a stray ",": yaml-cpp
    // issue 1040, fixed upstream only in 2024). Two documents are all this needs.
    std::istringstream stream(source.text());
    YAML::Parser parser(stream);
    DocumentStarts starts;
    if (!parser.HandleNextDocument(starts)) return YAML::Node();
    if (parser.HandleNextDocument(starts)) {
      const YAML::Mark& second = starts.marks.at(1);
      const std::string_view at =
          std::string_view(source.text())
              .substr(std::min(static_cast<std::size_t>(std::max(second.pos, 0)),
                               source.text().size()));
      if (at.substr(0, 3) == "---") {
        YAML::Mark end_of_marker = second;  // point at the marker's last "-"
        end_of_marker.pos += 2;
        end_of_marker.column += 2;
        source.fail(end_of_marker, "expected a single YAML document, found a second one");
      }
      // A token that neither ends the first document nor starts another one.
      source.fail(second, "invalid YAML: unexpected " +
                              (at.empty() ? std::string("end") : quoted(at.substr(0, 1))) +
                              " here (quote a value that starts with it)");
    }
    return YAML::Load(source.text());
  } catch (const YAML::DeepRecursion& error) {
    source.fail(error.mark.is_null() ? source.end_mark() : error.mark,
                "invalid YAML: nested more than " + std::to_string(error.depth() - 1) +
                    " levels deep here; execmond's settings nest at most two levels");
  } catch (const YAML::ParserException& error) {
    std::string message = "invalid YAML: " + error.msg;
    if (is_unknown_anchor(error.msg)) {
      message = "invalid YAML: the referenced anchor is not defined";
      message += R"( (a value starting with * is an alias in YAML: quote patterns such as "*sh"))";
    } else if (const std::string key = key_of_unquoted_bracket(source.text(), error.mark);
               !key.empty()) {
      // listen: [::]:9717 is a list followed by junk to YAML.
      message += key == "listen"
                     ? R"( (a value starting with [ is a list in YAML: quote IPv6 addresses, )"
                       R"(such as listen: "[::]:9717"))"
                     : " (a value starting with [ is a list in YAML: quote the whole value of " +
                           key + ")";
    }
    source.fail(error.mark.is_null() ? source.end_mark() : error.mark, message);
  }
}

std::string read_whole_file(const std::string& path) {
  const auto cannot_read = [&path](int error) {
    return ConfigError("cannot read " + path + ": " + std::generic_category().message(error));
  };
  // O_NONBLOCK: opening a FIFO nobody writes would otherwise wait forever.
  const FileDescriptor fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) throw cannot_read(errno);
  struct stat status {};
  if (fstat(fd.get(), &status) != 0) throw cannot_read(errno);
  if (!S_ISREG(status.st_mode))
    throw ConfigError("cannot read " + path + ": it is " + file_kind(status.st_mode) +
                      ", not a configuration file");
  const auto too_large = [&path] {
    return ConfigError("cannot read " + path + ": larger than " +
                       std::to_string(kMaxConfigFileSize >> 10) +
                       " KiB, which no execmond configuration is");
  };
  if (static_cast<std::uint64_t>(status.st_size) > kMaxConfigFileSize) throw too_large();
  std::string text;
  char buffer[8192];
  for (;;) {
    const ssize_t count = read(fd.get(), buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) throw cannot_read(errno);
    if (count == 0) break;
    text.append(buffer, static_cast<std::size_t>(count));
    if (text.size() > kMaxConfigFileSize) throw too_large();  // grew while being read
  }
  return text;
}

}  // namespace execmond

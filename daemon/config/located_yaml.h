// YAML read with every complaint located: "<file>:<line>:<column>: <what was expected>".
// The daemon's configuration and the web configuration share it, so both files answer
// mistakes the same way.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/units.h"

namespace execmond {

// The text being parsed and the name errors give it.
class ConfigSource {
 public:
  ConfigSource(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  const std::string& text() const { return text_; }
  const std::string& name() const { return name_; }

  // Just past the last character, for the rare yaml-cpp error that carries no position.
  YAML::Mark end_mark() const {
    YAML::Mark mark;
    const std::size_t newline = text_.rfind('\n');
    const std::size_t line_start = newline == std::string::npos ? 0 : newline + 1;
    mark.pos = static_cast<int>(text_.size());
    mark.line = static_cast<int>(std::count(text_.begin(), text_.end(), '\n'));
    mark.column = static_cast<int>(text_.size() - line_start);
    return mark;
  }

  // "<source>:<line>:<col>", for a problem found later in what the text names.
  std::string where(const YAML::Mark& mark) const {
    return name_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }

  // Every rejection goes through here, so every message starts with "<source>:<line>:<col>: ".
  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& message) const {
    throw ConfigError(where(mark) + ": " + message);
  }

  // yaml-cpp 0.7 accepts a quoted scalar left open at the end of the file, swallowing every
  // line after it into the value; this catches what the parser let through.
  void check_quote_closed(const YAML::Node& scalar) const {
    const auto open = static_cast<std::size_t>(scalar.Mark().pos);
    if (scalar.Tag() != "!" || open >= text_.size()) return;
    const char quote = text_[open];
    if (quote != '"' && quote != '\'') return;  // a block scalar
    for (std::size_t i = open + 1; i < text_.size(); ++i) {
      if (quote == '"' && text_[i] == '\\') {
        ++i;  // an escape, maybe of a quote
      } else if (text_[i] == quote) {
        if (quote == '\'' && i + 1 < text_.size() && text_[i + 1] == '\'') {
          ++i;  // '' is a quote inside single quotes
        } else {
          return;
        }
      }
    }
    fail(scalar.Mark(), std::string("invalid YAML: expected a closing ") + quote +
                            " for the value that starts here");
  }

  // Where a null node was written. yaml-cpp marks "~" and "null" right, but an empty value at
  // the token after it, possibly lines below.
  YAML::Mark null_mark(const YAML::Mark& mark) const {
    const std::string_view at = std::string_view(text_).substr(
        std::min<std::size_t>(static_cast<std::size_t>(std::max(mark.pos, 0)), text_.size()));
    for (const std::string_view literal : {"~", "null", "Null", "NULL"}) {
      if (at.substr(0, literal.size()) != literal) continue;
      const std::string_view after = at.substr(literal.size());
      if (after.empty() || std::string_view(" \t\r\n,]}#").find(after.front()) != after.npos) {
        return mark;
      }
    }
    return last_written_before(mark);
  }

  // The last character written before `next`, skipping blanks and comments: the "-" of an
  // empty item, the end of a "---".
  YAML::Mark last_written_before(const YAML::Mark& next) const {
    std::size_t end = std::min(static_cast<std::size_t>(std::max(next.pos, 0)), text_.size());
    int line = next.line;
    while (true) {
      const std::size_t newline = end == 0 ? std::string::npos : text_.rfind('\n', end - 1);
      const std::size_t line_start = newline == std::string::npos ? 0 : newline + 1;
      std::string_view written(text_.data() + line_start, end - line_start);
      written = written.substr(0, comment_start(written));
      const std::size_t last = written.find_last_not_of(" \t\r");
      if (last != std::string_view::npos) {
        YAML::Mark mark;
        mark.pos = static_cast<int>(line_start + last);
        mark.line = line;
        mark.column = static_cast<int>(last);
        return mark;
      }
      if (line_start == 0) return next;
      end = line_start - 1;
      --line;
    }
  }

 private:
  // Where a YAML comment starts on a line of indicators ("- # none"), or npos.
  static std::size_t comment_start(std::string_view line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) return i;
    }
    return std::string_view::npos;
  }

  std::string text_;
  std::string name_;
};

// A scalar as an error shows it: quoted, escaped, cut when long.
std::string quoted(std::string_view text);
// A node as an error shows it: its quoted scalar, "a list", "a map" or "nothing".
std::string describe(const YAML::Node& node);

// One `key: value` entry of the file.
struct Entry {
  const ConfigSource& source;
  const std::string& key;
  const YAML::Node& key_node;
  const YAML::Node& value;

  // Where to point at `node`, this entry's value or a part of it.
  YAML::Mark where(const YAML::Node& node) const {
    if (!node.IsNull()) return node.Mark();
    if (&node == &value) return key_node.Mark();  // "key:" with nothing after it
    return source.null_mark(node.Mark());
  }

  // "<subject>: <expected>, got <found>", placed at `node`.
  [[noreturn]] void reject(const YAML::Node& node, const std::string& subject,
                           const std::string& expected, const std::string& found) const {
    source.fail(where(node), subject + ": " + expected + ", got " + found);
  }
  [[noreturn]] void reject(const std::string& expected) const {
    reject(value, key, expected, describe(value));
  }

  const std::string& scalar(const std::string& expected) const {
    if (!value.IsScalar()) reject(expected);
    source.check_quote_closed(value);
    return value.Scalar();
  }

  // Runs one of the units.h parsers on the scalar value, placing its complaint.
  template <typename Parser>
  auto parse(const std::string& expected, Parser parser) const {
    const std::string& text = scalar(expected);
    try {
      return parser(text);
    } catch (const InvalidValue& error) {
      reject(error.what());
    }
  }
};

// "unknown key "x"", with the nearest known name when it reads as a typo, or the list of
// known names.
std::string unknown_key_message(const std::string& key, const std::vector<std::string_view>& known);

// The error for a file that is not a configuration at all: it quotes nothing of it.
extern const char* const kNotAConfigFile;

// Only the first document counts, so a second one is more likely a mistake than a wish.
YAML::Node load_single_document(const ConfigSource& source);

// The whole file; an unreadable file is a ConfigError.
std::string read_whole_file(const std::string& path);

}  // namespace execmond

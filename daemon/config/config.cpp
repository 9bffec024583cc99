#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <system_error>

#include "config/units.h"

namespace execmond {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// 10000 names: ~19 MiB of counters here, and ~250000 series for Prometheus.
constexpr std::uint64_t kMaxCommSeries = 10'000;
constexpr std::uint64_t kMinRingBufferSize = std::uint64_t{64} << 10;
constexpr std::uint64_t kMaxRingBufferSize = std::uint64_t{1} << 30;
constexpr milliseconds kMinPollInterval{10};
constexpr milliseconds kMaxPollInterval = seconds{10};

// The text being parsed and the name errors give it.
class ConfigSource {
 public:
  ConfigSource(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  const std::string& text() const { return text_; }

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

  // Every rejection goes through here, so every message starts with "<source>:<line>:<col>: ".
  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& message) const {
    throw ConfigError(name_ + ":" + std::to_string(mark.line + 1) + ":" +
                      std::to_string(mark.column + 1) + ": " + message);
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

void read_listen(const Entry& entry, Config& config) {
  entry.parse(R"(expected host:port such as 0.0.0.0:9717 or "[::]:9717" (quote IPv6 addresses))",
              parse_listen_address);
  config.listen = entry.value.Scalar();
}

void read_min_duration(const Entry& entry, Config& config) {
  config.min_duration = entry.parse("expected a duration such as 250ms or 2s", parse_duration);
}

std::vector<std::string> read_patterns(const Entry& entry) {
  if (!entry.value.IsSequence()) {
    entry.reject(R"(expected a list of patterns such as ["nginx", "python*"] ([] for none))");
  }
  std::vector<std::string> patterns;
  for (const YAML::Node& item : entry.value) {
    const std::string subject = entry.key + "[" + std::to_string(patterns.size()) + "]";
    if (!item.IsScalar()) {
      entry.reject(item, subject, R"(expected a pattern such as "nginx" or "python*")",
                   describe(item));
    }
    entry.source.check_quote_closed(item);
    try {
      check_comm_pattern(item.Scalar());
    } catch (const InvalidValue& error) {
      entry.reject(item, subject, error.what(), describe(item));
    }
    patterns.push_back(item.Scalar());
  }
  return patterns;
}

void read_include_comms(const Entry& entry, Config& config) {
  config.include_comms = read_patterns(entry);
}

void read_exclude_comms(const Entry& entry, Config& config) {
  config.exclude_comms = read_patterns(entry);
}

void read_max_comm_series(const Entry& entry, Config& config) {
  const std::string expected =
      "expected a whole number from 1 to " + std::to_string(kMaxCommSeries);
  const std::string& text = entry.scalar(expected);
  std::uint64_t count = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size() || count < 1 ||
      count > kMaxCommSeries) {
    entry.reject(expected);
  }
  config.max_comm_series = count;
}

void read_ring_buffer_size(const Entry& entry, Config& config) {
  // The kernel wants a power of two and a multiple of the page size (64KiB covers all).
  const std::string expected = "expected a power of two from 64KiB to 1GiB, such as 4MiB";
  const std::uint64_t bytes = entry.parse(expected, parse_byte_size);
  if (bytes < kMinRingBufferSize || bytes > kMaxRingBufferSize || (bytes & (bytes - 1)) != 0) {
    std::string found = describe(entry.value);
    const std::string& text = entry.value.Scalar();
    if (text.find_first_not_of("0123456789") != std::string::npos) {
      found += " (" + std::to_string(bytes) + " bytes)";  // shows what 4MB really means
    }
    entry.reject(entry.value, entry.key, expected, found);
  }
  config.ring_buffer_size = bytes;
}

void read_poll_interval(const Entry& entry, Config& config) {
  const std::string expected = "expected a duration from 10ms to 10s";
  const std::chrono::nanoseconds interval = entry.parse(expected, parse_duration);
  if (interval < kMinPollInterval || interval > kMaxPollInterval) entry.reject(expected);
  if (interval % milliseconds{1} != std::chrono::nanoseconds::zero()) {
    entry.reject("expected a whole number of milliseconds");
  }
  config.poll_interval = std::chrono::duration_cast<milliseconds>(interval);
}

void read_log_level(const Entry& entry, Config& config) {
  struct Level {
    std::string_view name;
    spdlog::level::level_enum level;
  };
  static constexpr Level kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
      {"off", spdlog::level::off},
  };
  const std::string expected = "expected one of trace, debug, info, warn, error, critical, off";
  const std::string& text = entry.scalar(expected);
  const auto* found = std::find_if(std::begin(kLevels), std::end(kLevels),
                                   [&text](const Level& level) { return level.name == text; });
  if (found == std::end(kLevels)) entry.reject(expected);
  config.log_level = found->level;
}

void read_exec_failures(const Entry& entry, Config& config) {
  const std::string expected = "expected true or false";
  const std::string& text = entry.scalar(expected);
  // YAML 1.2's booleans, not 1.1's yes/no/on/off: one spelling per value.
  if (text != "true" && text != "false") entry.reject(expected);
  config.exec_failures = text == "true";
}

struct Key {
  std::string_view name;
  void (*read)(const Entry&, Config&);
};

constexpr Key kKeys[] = {
    {"listen", read_listen},
    {"min_duration", read_min_duration},
    {"exec_failures", read_exec_failures},
    {"include_comms", read_include_comms},
    {"exclude_comms", read_exclude_comms},
    {"max_comm_series", read_max_comm_series},
    {"ring_buffer_size", read_ring_buffer_size},
    {"poll_interval", read_poll_interval},
    {"log_level", read_log_level},
};

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

std::string unknown_key_message(const std::string& key) {
  const Key* closest = nullptr;
  std::size_t closest_distance = 0;
  for (const Key& known : kKeys) {
    const std::size_t distance = edit_distance(key, known.name);
    if (closest == nullptr || distance < closest_distance) {
      closest = &known;
      closest_distance = distance;
    }
  }
  std::string message = "unknown key " + quoted(key);
  // A third of the name may be wrong and it still reads as a typo ("ring_buffer").
  if (closest_distance <= std::max<std::size_t>(2, closest->name.size() / 3)) {
    return message + " (did you mean \"" + std::string(closest->name) + "\"?)";
  }
  message += " (known keys:";
  for (const Key& known : kKeys) {
    message += ' ';
    message += known.name;
    if (&known != &kKeys[std::size(kKeys) - 1]) message += ',';
  }
  return message + ")";
}

// Only the first document counts, so a second one is more likely a mistake than a wish.
YAML::Node load_single_document(const ConfigSource& source) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(source.text());
  } catch (const YAML::ParserException& error) {
    std::string message = "invalid YAML: " + error.msg;
    if (error.msg == YAML::ErrorMsg::UNKNOWN_ANCHOR) {
      message += R"( (a value starting with * is an alias in YAML: quote patterns such as "*sh"))";
    }
    source.fail(error.mark.is_null() ? source.end_mark() : error.mark, message);
  }
  if (documents.empty()) return YAML::Node();
  if (documents.size() > 1) {
    source.fail(source.last_written_before(documents[1].Mark()),
                "expected a single YAML document, found a second one");
  }
  return documents.front();
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

std::string read_whole_file(const std::string& path) {
  const auto cannot_read = [&path](int error) {
    return ConfigError("cannot read " + path + ": " + std::generic_category().message(error));
  };
  const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "re"));
  if (!file) throw cannot_read(errno);
  std::string text;
  char buffer[8192];
  std::size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, count);
  if (std::ferror(file.get())) throw cannot_read(errno);
  return text;
}

}  // namespace

bool Config::operator==(const Config& other) const {
  return listen == other.listen && min_duration == other.min_duration &&
         exec_failures == other.exec_failures && include_comms == other.include_comms &&
         exclude_comms == other.exclude_comms && max_comm_series == other.max_comm_series &&
         ring_buffer_size == other.ring_buffer_size && poll_interval == other.poll_interval &&
         log_level == other.log_level;
}

Config parse_config(std::string_view yaml, const std::string& source_name) {
  const ConfigSource source(yaml, source_name);
  const YAML::Node root = load_single_document(source);
  Config config;
  if (root.IsNull()) return config;  // empty, or only comments: every default
  if (root.IsScalar()) source.check_quote_closed(root);
  if (!root.IsMap()) {
    source.fail(root.Mark(), R"(expected settings as "key: value" lines such as )"
                             R"("listen: 0.0.0.0:9717", got )" +
                                 describe(root));
  }
  std::map<std::string, int> line_of_key;
  for (const auto& setting : root) {
    const YAML::Node& key_node = setting.first;
    if (!key_node.IsScalar()) {
      source.fail(key_node.Mark(),
                  R"(expected a setting name such as "listen", got )" + describe(key_node));
    }
    source.check_quote_closed(key_node);
    const std::string& key = key_node.Scalar();
    const auto* known =
        std::find_if(std::begin(kKeys), std::end(kKeys),
                     [&key](const Key& candidate) { return candidate.name == key; });
    if (known == std::end(kKeys)) source.fail(key_node.Mark(), unknown_key_message(key));
    const auto [first, inserted] = line_of_key.emplace(key, key_node.Mark().line + 1);
    if (!inserted) {
      source.fail(key_node.Mark(), "duplicate key " + quoted(key) + " (first set on line " +
                                       std::to_string(first->second) + ")");
    }
    known->read(Entry{source, key, key_node, setting.second}, config);
  }
  return config;
}

Config load_config_file(const std::string& path) {
  return parse_config(read_whole_file(path), path);
}

}  // namespace execmond

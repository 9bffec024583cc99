// SPDX-License-Identifier: Apache-2.0
#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>

#include "config/content_entry.h"
#include "config/located_yaml.h"
#include "config/units.h"
#include "events/path_glob.h"

namespace execmond {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::uint64_t kMinRingBufferSize = std::uint64_t{64} << 10;
constexpr std::uint64_t kMaxRingBufferSize = std::uint64_t{1} << 30;
constexpr milliseconds kMinPollInterval{10};
constexpr milliseconds kMaxPollInterval = seconds{10};

void read_listen(const Entry& entry, Config& config) {
  entry.parse(R"(expected host:port such as 0.0.0.0:9717 or "[::]:9717" (quote IPv6 addresses))",
              parse_listen_address);
  config.listen = entry.value.Scalar();
}

void read_min_duration(const Entry& entry, Config& config) {
  config.min_duration = entry.parse("expected a duration such as 250ms or 2s", parse_duration);
}

std::vector<std::string> read_patterns(const Entry& entry,
                                       void (*check_pattern)(std::string_view)) {
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
      check_pattern(item.Scalar());
    } catch (const InvalidValue& error) {
      entry.reject(item, subject, error.what(), describe(item));
    }
    patterns.push_back(item.Scalar());
  }
  return patterns;
}

void read_include_comms(const Entry& entry, Config& config) {
  config.series.include_comms = read_patterns(entry, check_comm_pattern);
}

void read_exclude_comms(const Entry& entry, Config& config) {
  config.series.exclude_comms = read_patterns(entry, check_comm_pattern);
}

void read_include_units(const Entry& entry, Config& config) {
  config.series.include_units = read_patterns(entry, check_unit_pattern);
}

void read_exclude_units(const Entry& entry, Config& config) {
  config.series.exclude_units = read_patterns(entry, check_unit_pattern);
}

void read_labels(const Entry& entry, Config& config) {
  if (!entry.value.IsSequence()) {
    entry.reject("expected a list of labels such as [comm] or [comm, unit, container]");
  }
  bool comm = false;
  bool unit = false;
  bool container = false;
  std::size_t index = 0;
  for (const YAML::Node& item : entry.value) {
    const std::string subject = entry.key + "[" + std::to_string(index++) + "]";
    const std::string expected = "expected comm, unit or container";
    if (!item.IsScalar()) entry.reject(item, subject, expected, describe(item));
    entry.source.check_quote_closed(item);
    const std::string& name = item.Scalar();
    bool* chosen = name == "comm"        ? &comm
                   : name == "unit"      ? &unit
                   : name == "container" ? &container
                                         : nullptr;
    if (chosen == nullptr) entry.reject(item, subject, expected, describe(item));
    if (*chosen) entry.reject(item, subject, "expected each label once", describe(item));
    *chosen = true;
  }
  // Every per-process metric is a contract on comm.
  if (!comm) entry.reject("expected a list that includes comm, such as [comm, unit]");
  config.series.unit_label = unit;
  config.series.container_label = container;
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
  config.series.max_comm_series = count;
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

void read_web_config_file(const Entry& entry, Config& config) {
  const std::string& path = entry.scalar("expected the path of a web configuration file");
  if (path.empty()) entry.reject("expected the path of a web configuration file");
  config.web_config_file = path;
  config.web_config_file_at = entry.source.where(entry.value.Mark());
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

// YAML 1.2's booleans, not 1.1's yes/no/on/off: one spelling per value.
bool read_boolean(const Entry& entry) {
  const std::string expected = "expected true or false";
  const std::string& text = entry.scalar(expected);
  if (text != "true" && text != "false") entry.reject(expected);
  return text == "true";
}

void read_exec_failures(const Entry& entry, Config& config) {
  config.exec_failures = read_boolean(entry);
}

void read_lifetime_histogram(const Entry& entry, Config& config) {
  config.series.lifetime_histogram = read_boolean(entry);
}

void read_series_ttl(const Entry& entry, Config& config) {
  const std::string expected = "expected 0 (never) or a duration of at least 1s, such as 192h";
  const std::chrono::nanoseconds ttl = entry.parse(expected, parse_duration);
  if (ttl != std::chrono::nanoseconds::zero() && ttl < seconds{1}) entry.reject(expected);
  if (ttl % milliseconds{1} != std::chrono::nanoseconds::zero()) {
    entry.reject("expected a whole number of milliseconds");
  }
  config.series.series_ttl = std::chrono::duration_cast<milliseconds>(ttl);
}

struct Key {
  std::string_view name;
  void (*read)(const Entry&, Config&);
};

void read_allowed_binaries(const Entry& entry, Config& config) {
  if (!entry.value.IsSequence()) {
    entry.reject(R"(expected a list of path patterns such as ["/usr/bin/*", "/usr/lib/**"])");
  }
  std::vector<std::string> patterns;
  for (const YAML::Node& item : entry.value) {
    const std::string subject = entry.key + "[" + std::to_string(patterns.size()) + "]";
    if (!item.IsScalar()) {
      entry.reject(item, subject, R"(expected a path pattern such as "/usr/bin/*")",
                   describe(item));
    }
    entry.source.check_quote_closed(item);
    if (is_sha256_entry(item.Scalar())) {
      // Content, not a path: the file with exactly these bytes, wherever it is.
      if (const auto error = sha256_entry_error(item.Scalar()))
        entry.reject(item, subject, *error, describe(item));
    } else {
      try {
        PathGlob{item.Scalar()};
      } catch (const InvalidGlob& error) {
        entry.reject(item, subject, error.what(), describe(item));
      }
    }
    patterns.push_back(item.Scalar());
  }
  config.allowed_binaries = std::move(patterns);
}

void read_packaged_binaries(const Entry& entry, Config& config) {
  config.packaged_binaries = read_boolean(entry);
}

constexpr Key kBinariesKeys[] = {
    {"allow", read_allowed_binaries},
    {"packaged", read_packaged_binaries},
};

std::map<std::string, YAML::Mark> read_map(const ConfigSource& source, const YAML::Node& map,
                                           const std::string& prefix, const Key* keys_begin,
                                           const Key* keys_end, Config& config);

void read_binaries(const Entry& entry, Config& config) {
  if (!entry.value.IsMap()) {
    entry.reject(
        "expected a section: \"allow:\" and a list of path patterns, on the next lines, "
        "indented");
  }
  read_map(entry.source, entry.value, entry.key + ".", std::begin(kBinariesKeys),
           std::end(kBinariesKeys), config);
  // `packaged: true` alone judges by the package database with no path admitted
  // besides; a section with neither would judge every binary unexpected: a mistake.
  if (!config.allowed_binaries && config.packaged_binaries)
    config.allowed_binaries = std::vector<std::string>{};
  if (!config.allowed_binaries) {
    entry.reject(entry.value, entry.key,
                 "expected \"allow:\" and a list of path patterns in the section", "none");
  }
}

constexpr Key kKeys[] = {
    {"listen", read_listen},
    {"min_duration", read_min_duration},
    {"exec_failures", read_exec_failures},
    {"include_comms", read_include_comms},
    {"exclude_comms", read_exclude_comms},
    {"labels", read_labels},
    {"include_units", read_include_units},
    {"exclude_units", read_exclude_units},
    {"max_comm_series", read_max_comm_series},
    {"lifetime_histogram", read_lifetime_histogram},
    {"series_ttl", read_series_ttl},
    {"ring_buffer_size", read_ring_buffer_size},
    {"poll_interval", read_poll_interval},
    {"log_level", read_log_level},
    {"web_config_file", read_web_config_file},
    {"binaries", read_binaries},
};

// Reads each "key: value" of `map` with its reader; `prefix` names a section's keys
// ("binaries.") in errors. Returns where each key was set.
std::map<std::string, YAML::Mark> read_map(const ConfigSource& source, const YAML::Node& map,
                                           const std::string& prefix, const Key* keys_begin,
                                           const Key* keys_end, Config& config) {
  std::map<std::string, YAML::Mark> where;
  for (const auto& setting : map) {
    const YAML::Node& key_node = setting.first;
    if (!key_node.IsScalar()) {
      source.fail(key_node.Mark(),
                  R"(expected a setting name such as "listen", got )" + describe(key_node));
    }
    source.check_quote_closed(key_node);
    const std::string& key = key_node.Scalar();
    const auto* known = std::find_if(
        keys_begin, keys_end, [&key](const Key& candidate) { return candidate.name == key; });
    if (known == keys_end) {
      std::vector<std::string_view> names;
      for (const Key* k = keys_begin; k != keys_end; ++k) names.push_back(k->name);
      std::string message = unknown_key_message(key, names);
      if (!prefix.empty()) message += " in section \"" + prefix.substr(0, prefix.size() - 1) + "\"";
      source.fail(key_node.Mark(), message);
    }
    const auto [first, inserted] = where.emplace(key, key_node.Mark());
    if (!inserted) {
      source.fail(key_node.Mark(), "duplicate key " + quoted(prefix + key) +
                                       " (first set on line " +
                                       std::to_string(first->second.line + 1) + ")");
    }
    known->read(Entry{source, prefix + key, key_node, setting.second}, config);
  }
  return where;
}

}  // namespace

bool SeriesSettings::operator==(const SeriesSettings& other) const {
  return max_comm_series == other.max_comm_series && include_comms == other.include_comms &&
         exclude_comms == other.exclude_comms && unit_label == other.unit_label &&
         container_label == other.container_label && include_units == other.include_units &&
         exclude_units == other.exclude_units && lifetime_histogram == other.lifetime_histogram &&
         series_ttl == other.series_ttl;
}

bool Config::operator==(const Config& other) const {
  return listen == other.listen && min_duration == other.min_duration &&
         exec_failures == other.exec_failures && series == other.series &&
         ring_buffer_size == other.ring_buffer_size && poll_interval == other.poll_interval &&
         log_level == other.log_level && web_config_file == other.web_config_file &&
         allowed_binaries == other.allowed_binaries && packaged_binaries == other.packaged_binaries;
}

Config parse_config(std::string_view yaml, const std::string& source_name) {
  const ConfigSource source(yaml, source_name);
  const YAML::Node root = load_single_document(source);
  Config config;
  if (root.IsNull()) return config;  // empty, or only comments: every default
  if (root.IsScalar()) source.check_quote_closed(root);
  if (!root.IsMap()) {
    // A scalar root is a foreign file's first line: never echo it.
    if (root.IsScalar()) source.fail(root.Mark(), kNotAConfigFile);
    source.fail(root.Mark(), R"(expected settings as "key: value" lines such as )"
                             R"("listen: 0.0.0.0:9717", got )" +
                                 describe(root));
  }
  const auto where = read_map(source, root, "", std::begin(kKeys), std::end(kKeys), config);
  // The filters decide per series, so what they look at must be one of its labels.
  for (const char* key : {"include_units", "exclude_units"}) {
    const auto set = where.find(key);
    if (set == where.end()) continue;
    const bool empty = set->first == "include_units" ? config.series.include_units.empty()
                                                     : config.series.exclude_units.empty();
    if (!config.series.unit_label && !empty) {
      source.fail(set->second,
                  set->first + ": filters on the unit label, which needs labels: [comm, unit]");
    }
  }
  return config;
}

Config load_config_file(const std::string& path) {
  return parse_config(read_whole_file(path), path);
}

}  // namespace execmond

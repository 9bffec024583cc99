#include "binaries/mount_table.h"

#include <algorithm>
#include <charconv>

namespace execmond {
namespace {

// Splits off the field up to the next space; false when there is none left.
bool next_field(std::string_view& rest, std::string_view& field) {
  if (rest.empty()) return false;
  const std::size_t space = rest.find(' ');
  field = rest.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  return !field.empty();
}

bool parse_number(std::string_view text, std::uint32_t& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

bool parse_device(std::string_view text, std::uint32_t& dev) {
  const std::size_t colon = text.find(':');
  std::uint32_t major = 0, minor = 0;
  if (colon == std::string_view::npos || !parse_number(text.substr(0, colon), major) ||
      !parse_number(text.substr(colon + 1), minor) || major > 0xfff || minor > 0xfffff)
    return false;
  dev = kernel_dev(major, minor);
  return true;
}

bool is_octal(char c) { return c >= '0' && c <= '7'; }

}  // namespace

std::string unescape_mountinfo(std::string_view field) {
  std::string text;
  text.reserve(field.size());
  for (std::size_t at = 0; at < field.size(); ++at) {
    if (field[at] == '\\' && at + 3 < field.size() && is_octal(field[at + 1]) &&
        is_octal(field[at + 2]) && is_octal(field[at + 3])) {
      const int value =
          (field[at + 1] - '0') * 64 + (field[at + 2] - '0') * 8 + (field[at + 3] - '0');
      if (value <= 0xff) {
        text += static_cast<char>(value);
        at += 3;
        continue;
      }
    }
    text += field[at];
  }
  return text;
}

std::optional<MountEntry> parse_mountinfo_line(std::string_view line) {
  MountEntry entry;
  std::string_view rest = line, field;
  if (!next_field(rest, field) || !parse_number(field, entry.mount_id)) return std::nullopt;
  if (!next_field(rest, field) || !parse_number(field, entry.parent_id)) return std::nullopt;
  if (!next_field(rest, field) || !parse_device(field, entry.dev)) return std::nullopt;
  if (!next_field(rest, field)) return std::nullopt;  // "/", "/sub", or "net:[4026531840]" (nsfs)
  entry.root = unescape_mountinfo(field);
  if (!next_field(rest, field) || field.front() != '/') return std::nullopt;
  entry.mount_point = unescape_mountinfo(field);
  if (!next_field(rest, field)) return std::nullopt;  // mount options
  // Optional fields ("shared:1", "master:2", …), zero or more, up to a lone "-".
  for (;;) {
    if (!next_field(rest, field)) return std::nullopt;
    if (field == "-") break;
  }
  if (!next_field(rest, field)) return std::nullopt;
  entry.fs_type = unescape_mountinfo(field);
  // The source may be empty on some filesystems: "- tmpfs  rw" has two spaces.
  const std::size_t space = rest.find(' ');
  if (space == std::string_view::npos) return std::nullopt;  // no super options
  entry.source = unescape_mountinfo(rest.substr(0, space));
  return entry;
}

MountTable MountTable::parse(std::string_view text) {
  MountTable table;
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (line.empty()) continue;
    if (table.entries_.size() == kMaxEntries) {
      table.truncated_ = true;
      break;
    }
    std::optional<MountEntry> entry = parse_mountinfo_line(line);
    if (!entry) {
      ++table.malformed_lines_;
      continue;
    }
    const std::size_t index = table.entries_.size();
    table.by_dev_.emplace(entry->dev, index);
    table.by_id_[entry->mount_id] = index;
    table.entries_.push_back(std::move(*entry));
  }
  return table;
}

std::vector<const MountEntry*> MountTable::mounts_of(std::uint32_t dev) const {
  std::vector<std::size_t> indexes;
  const auto [first, last] = by_dev_.equal_range(dev);
  for (auto it = first; it != last; ++it) indexes.push_back(it->second);
  std::sort(indexes.begin(), indexes.end());
  std::vector<const MountEntry*> mounts;
  mounts.reserve(indexes.size());
  for (const std::size_t index : indexes) mounts.push_back(&entries_[index]);
  return mounts;
}

const MountEntry* MountTable::by_id(std::uint32_t mount_id) const {
  const auto found = by_id_.find(mount_id);
  return found == by_id_.end() ? nullptr : &entries_[found->second];
}

}  // namespace execmond

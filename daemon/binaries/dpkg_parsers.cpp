// SPDX-License-Identifier: Apache-2.0
#include "binaries/dpkg_parsers.h"

namespace execmond::dpkg {
namespace {

// Calls `line` for each line, without its "\n" (a last line without one counts too).
template <typename Line>
void for_each_line(std::string_view text, Line&& line) {
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    line(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// A path a database entry may name: absolute, no NUL, no CR (a file edited on another
// system), not empty.
bool plausible_path(std::string_view path) {
  return path.size() > 1 && path.front() == '/' && path.find('\0') == std::string_view::npos &&
         path.find('\r') == std::string_view::npos;
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

ParseCount parse_md5sums(std::string_view text,
                         const std::function<void(const Md5&, std::string_view path)>& entry) {
  ParseCount count;
  std::string path;
  for_each_line(text, [&](std::string_view line) {
    if (line.empty()) return;
    const auto md5 = Md5::from_hex(line.substr(0, 32));
    // "<hash>  <path>" or "<hash> *<path>".
    if (!md5 || line.size() < 35 || line[32] != ' ' || (line[33] != ' ' && line[33] != '*')) {
      ++count.malformed;
      return;
    }
    std::string_view relative = line.substr(34);
    if (relative.substr(0, 2) == "./") relative.remove_prefix(2);
    while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
    path.assign("/");
    path.append(relative);
    if (!plausible_path(path)) {
      ++count.malformed;
      return;
    }
    ++count.entries;
    entry(*md5, path);
  });
  return count;
}

ParseCount parse_list(std::string_view text,
                      const std::function<void(std::string_view path)>& entry) {
  ParseCount count;
  for_each_line(text, [&](std::string_view line) {
    if (line.empty() || line == "/.") return;
    if (!plausible_path(line)) {
      ++count.malformed;
      return;
    }
    ++count.entries;
    entry(line);
  });
  return count;
}

ParseCount parse_diversions(std::string_view text, std::vector<Diversion>& diversions) {
  ParseCount count;
  std::vector<std::string_view> lines;
  for_each_line(text, [&](std::string_view line) { lines.push_back(line); });
  // A trailing empty line is the file's final newline doubled, nothing more.
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::size_t at = 0;
  for (; at + 3 <= lines.size(); at += 3) {
    const std::string_view from = lines[at], to = lines[at + 1], by = lines[at + 2];
    if (!plausible_path(from) || !plausible_path(to) || by.empty() ||
        by.find('\0') != std::string_view::npos) {
      ++count.malformed;
      continue;
    }
    ++count.entries;
    diversions.push_back(Diversion{std::string(from), std::string(to), std::string(by)});
  }
  if (at < lines.size()) ++count.malformed;  // a diversion cut short
  return count;
}

ParseCount parse_status_conffiles(std::string_view text,
                                  const std::function<void(const Conffile&)>& entry) {
  ParseCount count;
  std::string_view package;
  bool in_conffiles = false;
  // Conffiles come after Package in every stanza dpkg writes; a stanza without a
  // Package before them cannot be attributed and is skipped.
  for_each_line(text, [&](std::string_view line) {
    if (line.empty()) {  // the end of a stanza
      package = {};
      in_conffiles = false;
      return;
    }
    if (!is_blank(line.front())) {
      in_conffiles = false;
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) return;
      const std::string_view field = line.substr(0, colon);
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && is_blank(value.front())) value.remove_prefix(1);
      if (field == "Package") {
        package = value;
      } else if (field == "Conffiles") {
        in_conffiles = true;
      }
      return;
    }
    if (!in_conffiles) return;
    // " /path md5 [obsolete] [remove-on-upgrade]": the path may hold spaces, so the
    // words are taken from the right.
    std::string_view rest = line;
    while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
    while (!rest.empty() && is_blank(rest.back())) rest.remove_suffix(1);
    Conffile conffile;
    conffile.package = package;
    std::string_view hash;
    for (;;) {
      const std::size_t space = rest.find_last_of(" \t");
      if (space == std::string_view::npos) break;
      const std::string_view word = rest.substr(space + 1);
      rest = rest.substr(0, space);
      while (!rest.empty() && is_blank(rest.back())) rest.remove_suffix(1);
      if (word == "obsolete") {
        conffile.obsolete = true;
      } else if (word != "remove-on-upgrade") {
        hash = word;
        break;
      }
    }
    conffile.path = rest;
    if (package.empty() || hash.empty() || !plausible_path(rest)) {
      ++count.malformed;
      return;
    }
    if (hash != "newconffile") {
      conffile.md5 = Md5::from_hex(hash);
      if (!conffile.md5) {
        ++count.malformed;
        return;
      }
    }
    ++count.entries;
    entry(conffile);
  });
  return count;
}

std::string_view package_of_info_file(std::string_view file_name) {
  const std::size_t dot = file_name.rfind('.');
  std::string_view name = file_name.substr(0, dot);
  return name.substr(0, name.find(':'));
}

}  // namespace execmond::dpkg

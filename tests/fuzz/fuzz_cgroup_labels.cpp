// SPDX-License-Identifier: Apache-2.0
// The cgroup path -> unit and container label rules (cgroups/cgroup_names.h). Anyone with
// a delegated subtree names cgroups as they like, so the rules are checked, not only run:
// a label is printable and decodes to a name the path really holds; a user's subtree
// never yields a label without its manager's prefix.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cgroups/cgroup_names.h"

namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = std::min(path.find('/', start), path.size());
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The bytes a label text stands for (the inverse of events/printable_bytes.h), or abort
// on an escape it would never write.
std::string unescape(std::string_view text) {
  std::string bytes;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) std::abort();  // a control byte in a label
    if (c != '\\') {
      bytes += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '\\') {
      bytes += '\\';
      ++i;
    } else if (i + 3 < text.size() && text[i + 1] == 'x' && hex(text[i + 2]) >= 0 &&
               hex(text[i + 3]) >= 0) {
      bytes += static_cast<char>(hex(text[i + 2]) * 16 + hex(text[i + 3]));
      i += 3;
    } else {
      std::abort();  // a lone backslash: two names could share this label
    }
  }
  return bytes;
}

bool holds(const std::vector<std::string_view>& parts, std::string_view name) {
  for (const std::string_view part : parts)
    if (part == name) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view path(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string_view> parts = components(path);
  const std::string unit = execmond::unit_label(path);
  if (unit.empty() || unit == execmond::kUnresolvedUnit) std::abort();

  // The first user@UID.service component, if any, must prefix the label.
  std::string_view manager;
  for (const std::string_view part : parts) {
    if (part.substr(0, 5) == "user@" && ends_with(part, ".service")) {
      manager = part;
      break;
    }
  }
  const std::string decoded = unescape(unit);
  if (manager.empty()) {
    if (decoded.find('/') != std::string::npos) std::abort();
    if (decoded != "-" && !holds(parts, decoded)) std::abort();
  } else {
    const std::string own = unescape(execmond::unit_label("/" + std::string(manager)));
    if (own != manager) std::abort();
    if (decoded != own && decoded.substr(0, own.size() + 1) != own + "/") std::abort();
    if (decoded.size() > own.size() && !holds(parts, decoded.substr(own.size() + 1))) {
      std::abort();
    }
  }

  const std::string container = execmond::container_label(path);
  if (!container.empty() && container.find(':') == std::string::npos) std::abort();
  unescape(container);
  return 0;
}

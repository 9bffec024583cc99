// SPDX-License-Identifier: Apache-2.0
#include "binaries/resolved_binary.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <cstring>

namespace execmond {

std::size_t fold_dot_components(std::string_view path, char* out) {
  std::size_t size = 0;
  for (std::size_t at = 0; at < path.size();) {
    const std::size_t slash = path.find('/', at);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    const std::string_view component = path.substr(at, end - at);
    at = end + 1;
    if (component.empty() || component == ".") continue;
    if (component == "..") {
      while (size > 0 && out[size - 1] != '/') --size;  // drop the last component
      if (size > 0) --size;                             // and its '/'
      continue;
    }
    out[size++] = '/';
    std::memcpy(out + size, component.data(), component.size());
    size += component.size();
  }
  if (size == 0 && !path.empty()) out[size++] = '/';
  return size;
}

std::uint32_t root_filesystem_device() {
  static const std::uint32_t device = [] {
    struct stat st {};
    if (stat("/", &st) != 0) return std::uint32_t{0};
    // The kernel's s_dev packs 12 bits of major above 20 of minor, not glibc's layout.
    return static_cast<std::uint32_t>((major(st.st_dev) << 20) | minor(st.st_dev));
  }();
  return device;
}

ResolvedBinary::ResolvedBinary(const execmond_binary_event& e, std::uint32_t root_device)
    : executable_(e.path, strnlen(e.path, sizeof(e.path))), flags_(e.binary_flags) {
  if (executable_.empty()) executable_ = kUnresolvedPath;
  if (!is_script()) return;
  const std::string_view script(e.script_path, strnlen(e.script_path, sizeof(e.script_path)));
  if (flags_ & EXECMOND_BINARY_SCRIPT_SEEN) {
    if (root_device != 0 && e.script.dev == root_device) {
      script_size_ = fold_dot_components(script, script_);
      return;
    }
    // Another filesystem: its own path is not the host's. Named, never allowed.
    script_not_named_ = true;
    const int prefix = std::snprintf(script_, sizeof(script_), "%u:%u:", e.script.dev >> 20,
                                     e.script.dev & 0xfffff);
    std::memcpy(script_ + prefix, script.data(), script.size());
    script_size_ = static_cast<std::size_t>(prefix) + script.size();
    return;
  }
  if (!script.empty() && script.front() == '/') {
    script_size_ = fold_dot_components(script, script_);
    return;
  }
  // Relative to the caller's working directory, which the kernel sent with it.
  if (e.ctx.flags & EXECMOND_CTX_CWD_TRUNCATED) flags_ |= EXECMOND_BINARY_SCRIPT_TRUNCATED;
  const std::string_view cwd(e.cwd, strnlen(e.cwd, sizeof(e.cwd)));
  char joined[sizeof(script_)];
  std::size_t size = 0;
  std::memcpy(joined, cwd.data(), cwd.size());
  size += cwd.size();
  joined[size++] = '/';
  std::memcpy(joined + size, script.data(), script.size());
  size += script.size();
  script_size_ = fold_dot_components({joined, size}, script_);
}

}  // namespace execmond

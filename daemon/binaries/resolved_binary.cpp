#include "binaries/resolved_binary.h"

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

ResolvedBinary::ResolvedBinary(const execmond_binary_event& e)
    : executable_(e.path, strnlen(e.path, sizeof(e.path))), flags_(e.binary_flags) {
  if (executable_.empty()) executable_ = kUnresolvedPath;
  if (!is_script()) return;
  const std::string_view script(e.script_path, strnlen(e.script_path, sizeof(e.script_path)));
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

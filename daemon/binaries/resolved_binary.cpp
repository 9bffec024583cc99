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
    : executable_(e.path, strnlen(e.path, sizeof(e.path))), flags_(e.binary.flags) {
  if (executable_.empty()) executable_ = kUnresolvedPath;
  if (is_script())
    script_size_ = fold_dot_components({e.script, strnlen(e.script, sizeof(e.script))}, script_);
}

}  // namespace execmond

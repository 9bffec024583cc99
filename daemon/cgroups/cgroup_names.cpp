#include "cgroups/cgroup_names.h"

#include <vector>

#include "events/printable_bytes.h"

namespace execmond {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

bool is_unit(std::string_view name) {
  for (const std::string_view suffix : {".service", ".scope", ".socket", ".mount", ".swap"})
    if (ends_with(name, suffix)) return true;
  return false;
}

bool is_slice(std::string_view name) { return ends_with(name, ".slice"); }

// Units that come and go by the thousand: counted under their slice (rule 2).
bool is_churning_unit(std::string_view name) {
  if (starts_with(name, "session-") && ends_with(name, ".scope")) return true;
  if (starts_with(name, "run-") && (ends_with(name, ".scope") || ends_with(name, ".service")))
    return true;
  if (!ends_with(name, ".scope")) return false;
  for (const std::string_view prefix : {"docker-", "cri-containerd-", "crio-", "libpod-"})
    if (starts_with(name, prefix)) return true;
  return false;
}

// kubepods-burstable-pod<uid>.slice, kubepods-pod<uid>.slice (rule 4).
bool is_pod_slice(std::string_view name) {
  return starts_with(name, "kubepods") && is_slice(name) &&
         (name.find("-pod") != std::string_view::npos);
}

// The deepest slice at or above `end` (exclusive), pod slices skipped; "-" for none.
std::string_view slice_above(const std::vector<std::string_view>& parts, std::size_t end) {
  for (std::size_t i = end; i-- > 0;)
    if (is_slice(parts[i]) && !is_pod_slice(parts[i])) return parts[i];
  return "-";
}

// The label text of a name: events/printable_bytes.h's escaping, the comm label's, so
// that no two names share a text (`\` is `\\`, a byte that is not printable `\xHH`).
std::string printable(std::string_view name) {
  std::string text;
  append_escaped_bytes(text, name);
  return text;
}

// A user's systemd instance, user@UID.service: everything below it is delegated to that
// user, who may create cgroups of any name there.
bool is_user_manager(std::string_view name) {
  return starts_with(name, "user@") && ends_with(name, ".service");
}

bool is_hex(std::string_view text) {
  for (const char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

constexpr std::size_t kShortIdLength = 12;

// "<runtime>:<id12>" when `id` looks like a container id, else "".
std::string container_id(std::string_view runtime, std::string_view id) {
  if (id.size() < kShortIdLength || !is_hex(id)) return {};
  return std::string(runtime) + ":" + printable(id.substr(0, kShortIdLength));
}

std::string container_of(std::string_view parent, std::string_view name) {
  struct Scope {
    std::string_view prefix;
    std::string_view runtime;
  };
  static constexpr Scope kScopes[] = {
      {"docker-", "docker"},
      {"cri-containerd-", "containerd"},
      {"crio-", "cri-o"},
      {"libpod-", "podman"},
  };
  for (const Scope& scope : kScopes) {
    if (!starts_with(name, scope.prefix)) continue;
    std::string_view id = name.substr(scope.prefix.size());
    if (ends_with(id, ".scope")) id.remove_suffix(std::string_view(".scope").size());
    return container_id(scope.runtime, id);  // conmon-<id> is not hex: not a container
  }
  if (parent == "docker") return container_id("docker", name);  // cgroupfs driver
  return {};
}

}  // namespace

std::string unit_label(std::string_view cgroup_path) {
  std::vector<std::string_view> parts = components(cgroup_path);
  // A user's delegated subtree names its units after its manager: "user@1000.service/
  // sshd.service" can be no system unit's label, since a component holds no '/'. The
  // first user@ component counts: one the user made below it is theirs to name.
  std::string prefix;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!is_user_manager(parts[i])) continue;
    prefix = printable(parts[i]);
    parts.erase(parts.begin(), parts.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    break;
  }
  std::string_view name = slice_above(parts, parts.size());
  for (std::size_t i = parts.size(); i-- > 0;) {
    if (!is_unit(parts[i])) continue;
    name = is_churning_unit(parts[i]) ? slice_above(parts, i) : parts[i];
    break;
  }
  if (prefix.empty()) return printable(name);
  if (name == "-") return prefix;  // the manager itself, or a cgroup with no unit below it
  return prefix + "/" + printable(name);
}

std::string container_label(std::string_view cgroup_path) {
  const std::vector<std::string_view> parts = components(cgroup_path);
  for (std::size_t i = parts.size(); i-- > 0;) {
    std::string label = container_of(i > 0 ? parts[i - 1] : std::string_view(), parts[i]);
    if (!label.empty()) return label;
  }
  return {};
}

}  // namespace execmond

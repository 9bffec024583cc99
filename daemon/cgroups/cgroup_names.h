// What a person calls the cgroup a process ran in: its systemd unit and its container.
// Pure functions of the cgroup's path, as the unified hierarchy shows it from where the
// daemon runs (inside a cgroup namespace, relative to the namespace's root).
#pragma once

#include <string>
#include <string_view>

namespace execmond {

// The `unit` label of a cgroup path such as "/system.slice/nginx.service". The rules, in
// order:
//  1. The unit is the deepest path component that ends in .service, .scope, .socket,
//     .mount or .swap; cgroups below it belong to it ("/system.slice/foo.service/worker"
//     is foo.service).
//  2. Units that are born and die by the thousand collapse to the slice that holds them,
//     so that they do not each become a series forever:
//       session-N.scope (logins)                       e.g. -> user-1000.slice
//       run-*.scope, run-*.service (systemd-run without --unit, e.g. run-u123.service)
//       docker-*.scope, cri-containerd-*.scope, crio-*.scope, crio-conmon-*.scope,
//       libpod-*.scope, libpod-conmon-*.scope (containers and their monitors)
//     The container itself is the `container` label's business.
//  3. With no unit (a slice, the root, a hierarchy systemd does not manage), the deepest
//     .slice component is the label.
//  4. A Kubernetes pod slice (kubepods-<qos>-pod<uid>.slice, kubepods-pod<uid>.slice)
//     churns with its pods: it collapses to the slice above it (kubepods-burstable.slice,
//     kubepods.slice).
//  5. Nothing left: "-" (the root cgroup, "/docker/<id>" under the cgroupfs driver,
//     any directory tree without slices).
//  6. A user's delegated subtree (below the first user@UID.service component, where the
//     user names cgroups as they like) is labelled "user@UID.service/<unit>", rules 1-4
//     applied below the manager: ".../user@1000.service/app.slice/sshd.service" is
//     "user@1000.service/sshd.service", never the system's "sshd.service"; the manager
//     itself, and a cgroup below it with no unit or slice, is "user@1000.service". No
//     system cgroup has a '/' in its label, so no user can take a system unit's label.
// The name is escaped as the comm label is (events/printable_bytes.h): `\` is `\\`, a
// byte that is not printable UTF-8 is \xHH. Different names never share a label; a
// systemd escape in a unit name (\x2d) therefore shows as \\x2d.
std::string unit_label(std::string_view cgroup_path);

// The `container` label: "<runtime>:<first 12 characters of the id>" for the deepest
// container cgroup in the path, or "" for none.
//   docker-<id>.scope, /docker/<id>            docker:<id12>
//   cri-containerd-<id>.scope                  containerd:<id12>
//   crio-<id>.scope                            cri-o:<id12>
//   libpod-<id>.scope, libpod-<id>             podman:<id12>
// where <id> is at least 12 hexadecimal digits. Monitors (crio-conmon-*, libpod-conmon-*)
// are not containers.
std::string container_label(std::string_view cgroup_path);

// The label values of processes whose cgroup could not be resolved (see CgroupResolver).
// No path gives either: a unit label is "-" or ends in a unit or slice suffix, and a
// container label is empty or has a ':'.
inline constexpr std::string_view kUnresolvedUnit = "execmond_unresolved";
inline constexpr std::string_view kUnresolvedContainer = "execmond_unresolved";

}  // namespace execmond

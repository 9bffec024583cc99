// SPDX-License-Identifier: Apache-2.0
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
//     is foo.service; "user@1000.service" stays as it is, and a user unit under it,
//     ".../user@1000.service/app.slice/dbus.service", is dbus.service).
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
// Bytes other than printable ASCII are written \xHH; systemd's own escapes (\x2d) are
// kept as systemd shows them.
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

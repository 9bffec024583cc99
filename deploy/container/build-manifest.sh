#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# execmond's image for amd64 and arm64, published locally as one multi-arch manifest.
#
#   deploy/container/build-manifest.sh BUILD_DIR NAME
#     e.g. deploy/container/build-manifest.sh build localhost/execmond:0.1.0
#
# Each architecture's image is FROM scratch: the portable binary out of its release
# tarball (BUILD_DIR/execmond-<version>-linux-<arch>.tar.gz, `cmake --build build
# --target portable-amd64 portable-arm64`) and the C library it was built against, so
# building the arm64 one needs no emulation (no RUN step). The images are NAME-amd64 and
# NAME-arm64 (the tag gains the suffix); NAME is the manifest list naming both, which
# `podman manifest push --all NAME docker://REGISTRY/execmond:TAG` publishes, and from
# which a runtime pulls its host's architecture.
set -euo pipefail

(($# == 2)) || { echo "usage: $0 BUILD_DIR NAME" >&2; exit 2; }
build=$(cd "$1" && pwd)
name=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v podman >/dev/null || { echo "$0: podman not found (apt-get install podman)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

podman manifest rm "$name" >/dev/null 2>&1 || true
podman manifest create "$name" >/dev/null
for arch in amd64 arm64; do
  tarballs=("$build"/execmond-*-linux-"$arch".tar.gz)
  [[ -f ${tarballs[0]} ]] ||
    { echo "$0: no $build/execmond-*-linux-$arch.tar.gz (cmake --build build --target portable-$arch)" >&2; exit 2; }
  mkdir -p "$work/$arch"
  tar -xzf "${tarballs[0]}" -C "$work/$arch"
  binary=$(echo "$work/$arch"/execmond-*/execmond)
  version=$(basename "$(dirname "$binary")" | cut -d- -f2)
  "$here/make-context.sh" "$binary" "$work/$arch/context" "$build/portable/$arch/sysroot"
  podman build -q --arch "$arch" --os linux -f "$work/$arch/context/Containerfile" \
    --build-arg "EXECMOND_VERSION=$version" -t "$name-$arch" "$work/$arch/context" >/dev/null
  podman manifest add "$name" "containers-storage:$name-$arch" >/dev/null
  echo "build-manifest: $name-$arch ($(podman image inspect -f '{{.Os}}/{{.Architecture}}, {{.Size}} bytes' "$name-$arch"))" >&2
done
echo "build-manifest: $name: $(podman manifest inspect "$name" |
  python3 -c 'import json, sys; print(", ".join(m["platform"]["os"] + "/" + m["platform"]["architecture"] for m in json.load(sys.stdin)["manifests"]))')" >&2

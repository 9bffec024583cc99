#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Gathers the build context of deploy/container/Containerfile: a rootfs/ holding the
# execmond binary, every shared library ldd says it loads (at the same paths, symlinks
# resolved), the dynamic loader, and the default configuration. What the binary does not
# load is not there, so the image carries no shell and nothing to exploit.
#
# Usage: make-context.sh BINARY CONTEXT_DIR [SYSROOT]
#   BINARY       a built execmond (build/daemon/execmond); it is stripped in the context
#   CONTEXT_DIR  created or emptied; then: podman build -f Containerfile CONTEXT_DIR
#   SYSROOT      for the portable binary of any architecture (build-manifest.sh): the
#                loader and the libraries it names (readelf, not ldd) come from this
#                tree, build/portable/<arch>/sysroot, which holds its C library
set -euo pipefail

(($# == 2 || $# == 3)) || { echo "usage: $0 BINARY CONTEXT_DIR [SYSROOT]" >&2; exit 2; }
binary=$1
context=$2
sysroot=${3:-}
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ -x $binary && -f $binary ]] || { echo "$0: $binary: not an executable file" >&2; exit 2; }

rm -rf "$context"
mkdir -p "$context/rootfs/usr/sbin" "$context/rootfs/etc/execmond"
cp "$source_dir/deploy/container/Containerfile" "$context/"
install -m 0755 "$binary" "$context/rootfs/usr/sbin/execmond"
install -m 0644 "$source_dir/config/execmond.yaml" "$context/rootfs/etc/execmond/execmond.yaml"

if [[ -n $sysroot ]]; then
  # The portable build's binary is stripped already, and needs only the C library: its
  # loader (PT_INTERP) and NEEDED entries, found in the sysroot.
  count=0
  paths=$(readelf -lW "$binary" | sed -n 's/.*program interpreter: \(.*\)\]/\1/p')
  for needed in $(readelf -dW "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    path=""
    for candidate in "$sysroot"/lib/*-linux-gnu/"$needed" "$sysroot"/usr/lib/*-linux-gnu/"$needed" \
      "$sysroot/lib/$needed" "$sysroot/lib64/$needed"; do
      if [[ -e $candidate ]]; then
        path=${candidate#"$sysroot"}
        break
      fi
    done
    [[ -n $path ]] || { echo "$0: $binary needs $needed, which $sysroot lacks" >&2; exit 1; }
    paths+=$'\n'$path
  done
  while read -r path; do
    [[ -n $path ]] || continue # a static binary has no loader
    [[ -e $sysroot$path ]] || { echo "$0: $sysroot lacks $path" >&2; exit 1; }
    mkdir -p "$context/rootfs$(dirname "$path")"
    cp -L "$sysroot$path" "$context/rootfs$path"
    count=$((count + 1))
  done <<<"$paths"
  echo "make-context: $context/rootfs: execmond and the C library ($count files from $sysroot)" >&2
  exit 0
fi
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
  "$context/rootfs/usr/sbin/execmond"

# Each library at the path the loader looks for it (the name ldd shows), holding the
# file's content: no symlink can point out of the image.
libraries=$(ldd "$binary") || { echo "$0: ldd $binary failed: not a dynamic executable?" >&2; exit 1; }
if grep -q 'not found' <<<"$libraries"; then
  echo "$0: $binary needs libraries this host lacks:" >&2
  grep 'not found' <<<"$libraries" >&2
  exit 1
fi
count=0
while read -r path; do
  mkdir -p "$context/rootfs$(dirname "$path")"
  cp -L "$path" "$context/rootfs$path"
  count=$((count + 1))
done < <(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' <<<"$libraries" | sort -u)
# The /usr merge: the loader's path in the binary is /lib64/ld-linux-x86-64.so.2 (or
# /lib/ld-linux-aarch64.so.1); ldd names it so, and it was copied there above.
echo "make-context: $context/rootfs: execmond, $count libraries and the loader" >&2

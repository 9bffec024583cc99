#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Regenerate bpf/vmlinux/<arch>/vmlinux.h, the kernel types the BPF object is compiled
# against (CO-RE relocates every field access to the running kernel's layout).
#
#   bpf/vmlinux/generate.sh arm64   Debian's arm64 cloud kernel (the newest 6.12 the
#                                   archive serves), its BTF copied out of the Image
#   bpf/vmlinux/generate.sh x86     this x86_64 host's /sys/kernel/btf/vmlinux
#
# The arm64 kernel is fetched like the kernel matrix's (tests/kernels/fetch-kernel.sh,
# cached under /var/cache/execmond-test/kernels, nothing installed); needs bpftool and
# python3.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
readonly HERE
die() { echo "generate: error: $*" >&2; exit 1; }

[[ $# -eq 1 ]] || die "usage: generate.sh arm64|x86"
command -v bpftool >/dev/null || die "bpftool is missing: apt-get install bpftool"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

case $1 in
  arm64)
    kernel=$(EXECMOND_KERNEL_ARCH=arm64 "$HERE/../../tests/kernels/fetch-kernel.sh" \
      arm64-6.12 'linux-image-6\.12\.[0-9]+\+deb12-cloud-arm64-unsigned')
    "$HERE/extract-btf.py" "$kernel/vmlinuz" "$scratch/btf"
    source="Debian $(cat "$kernel/package")"
    ;;
  x86)
    [[ $(uname -m) == x86_64 ]] || die "x86: run this on an x86_64 host"
    cp /sys/kernel/btf/vmlinux "$scratch/btf"
    source="$(uname -r) (/sys/kernel/btf/vmlinux)"
    ;;
  *) die "unknown architecture $1 (arm64 or x86)" ;;
esac

mkdir -p "$HERE/$1"
bpftool btf dump file "$scratch/btf" format c >"$scratch/vmlinux.h"
grep -q '^struct task_struct {' "$scratch/vmlinux.h" || die "the BTF has no struct task_struct"
mv "$scratch/vmlinux.h" "$HERE/$1/vmlinux.h"
echo "generate: $HERE/$1/vmlinux.h from $source" >&2

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# execmond on arm64, for real: Debian 12's arm64 kernel under qemu-system-aarch64 (TCG,
# -cpu max), running the arm64 portable binary from the release tarball.
#
#   run-arm64-test.sh BUILD_DIR
#
# 1. `cmake --build BUILD_DIR --target portable-arm64` makes (or, warm, refreshes)
#    BUILD_DIR/execmond-<version>-linux-arm64.tar.gz, the arm64 workload (static),
#    busybox and the C library the binary was built against, Debian 11's glibc 2.31
#    (packaging/portable/).
# 2. tests/kernels/run-kernel-tests.sh --arch arm64 boots each kernel of
#    tests/arm64/kernels.list with an initramfs of them, and the kernel matrix's guest
#    (tests/kernels/guest/) runs the smoke test: the daemon attaches and a storm of
#    execs, exits with codes and signals, failed execs and execs of an unexpected path
#    must be counted exactly on /metrics.
#
# Needs root (the portable build's Debian 11 root), qemu-system-aarch64
# (qemu-system-arm), and the Debian archive on a cold cache. Exits 0 only if every
# kernel passes; anything missing fails the test with its name.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
readonly HERE
die() { echo "run-arm64-test: error: $*" >&2; exit 2; }

# All in main, read whole before it runs: an edit during a run cannot derail it.
main() {
  [[ $# -eq 1 ]] || die "usage: run-arm64-test.sh BUILD_DIR"
  build=$(cd "$1" && pwd)
  command -v qemu-system-aarch64 >/dev/null ||
    die "qemu-system-aarch64 is missing: apt-get install qemu-system-arm"

  started=$SECONDS
  cmake --build "$build" --target portable-arm64 ||
    die "the arm64 portable build failed (see above)"
  built=$((SECONDS - started))
  shopt -s nullglob
  tarballs=("$build"/execmond-*-linux-arm64.tar.gz)
  shopt -u nullglob
  [[ ${#tarballs[@]} -eq 1 ]] || die "expected one execmond-*-linux-arm64.tar.gz in $build"
  test_files=$build/portable/arm64/test
  sysroot=$build/portable/arm64/sysroot
  for file in "$test_files/execmond_workload" "$test_files/busybox" "$sysroot"; do
    [[ -e $file ]] || die "$file is missing (the portable build makes it)"
  done

  unpacked=$(mktemp -d)
  trap 'rm -rf "$unpacked"' EXIT
  tar -xzf "${tarballs[0]}" -C "$unpacked"
  execmond=$(echo "$unpacked"/execmond-*/execmond)
  [[ -x $execmond ]] || die "${tarballs[0]} holds no execmond binary"
  readelf -hW "$execmond" | grep -q 'Machine:.*AArch64' || die "$execmond is not an arm64 binary"

  echo "run-arm64-test: the arm64 portable build took ${built}s; booting" >&2
  EXECMOND_KERNEL_LIST=$HERE/kernels.list \
    EXECMOND_INITRAMFS_SYSROOT=$sysroot EXECMOND_INITRAMFS_BUSYBOX=$test_files/busybox \
    "$HERE/../kernels/run-kernel-tests.sh" --arch arm64 --execmond "$execmond" \
    --workload "$test_files/execmond_workload"
}

main "$@"

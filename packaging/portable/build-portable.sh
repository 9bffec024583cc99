#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The portable build: one binary for every glibc distribution, in a release tarball.
#
#   build-portable.sh --arch amd64|arm64 --skeleton SKEL --version V --output DIR
#
# (`cmake --build build --target portable` runs it for this machine's architecture,
# `--target portable-arm64` for arm64.) It compiles execmond in a clean Debian 11
# (glibc 2.31) root, made and cached by packaging/debian-root.sh, with every library
# but the C library linked statically (packaging/portable/build-in-root.sh), checks
# that the binary's NEEDED entries are the C library's only and that it needs no glibc
# symbol newer than 2.31, and writes DIR/execmond-V-linux-ARCH.tar.gz (and its
# .sha256): the binary, the unit, the default configuration, the man page, the licence
# and the notices of the libraries it holds, and install.sh.
#
# SKEL is the BPF skeleton this build tree generated for ARCH (Debian 11's clang and
# bpftool are too old for the BPF code; the object is architecture-specific only in
# its register access, which clang compiles for any target).
#
# Caches, keyed by release and architecture: the root under
# /var/cache/execmond-test/roots/bullseye-ARCH/, the static libraries under
# /var/cache/execmond-test/portable/bullseye-ARCH/, ccache's under
# /var/cache/execmond-test/roots/ccache/bullseye-ARCH. Needs root, debootstrap and
# systemd-nspawn, and the Debian archive for a cold cache.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE=$(cd "$HERE/../.." && pwd)
readonly HERE SOURCE
readonly RELEASE=bullseye MAX_GLIBC=2.31
# The C library's own sonames: the only NEEDED entries allowed.
readonly C_LIBRARIES='^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|ld-linux-(x86-64|aarch64)\.so\.[12])$'
readonly PORTABLE_CACHE=${EXECMOND_PORTABLE_CACHE:-/var/cache/execmond-test/portable}

die() { echo "build-portable: error: $*" >&2; exit 2; }
log() { echo "build-portable: $*" >&2; }

# Everything runs from main, which bash has read whole before it starts: editing this
# file while a build runs cannot derail it.
main() {
  arch="" skeleton="" version="" output=""
  while [[ $# -gt 0 ]]; do
    case $1 in
      --arch) arch=$2; shift 2 ;;
      --skeleton) skeleton=$2; shift 2 ;;
      --version) version=$2; shift 2 ;;
      --output) output=$2; shift 2 ;;
      *) die "unknown argument $1" ;;
    esac
  done
  [[ $arch == amd64 || $arch == arm64 ]] || die "--arch amd64 or arm64"
  [[ -s $skeleton ]] || die "--skeleton: no BPF skeleton at '$skeleton'"
  [[ -n $version && -n $output ]] || die "--version and --output are required"
  [[ -f $SOURCE/LICENSE ]] || die "$SOURCE/LICENSE is missing"
  command -v readelf >/dev/null || die "readelf is missing: apt-get install binutils"

  # The root: Debian 11 with its compilers and the static archives it has; for arm64 the
  # same amd64 root with arm64 added (multiarch) and the cross compilers.
  packages=(g++ make cmake pkg-config dpkg-dev ccache file xz-utils libelf-dev zlib1g-dev libssl-dev
    libcrypt-dev libsystemd-dev)
  if [[ $arch == arm64 ]]; then
    packages+=(crossbuild-essential-arm64 libelf-dev:arm64 zlib1g-dev:arm64 libssl-dev:arm64
      libcrypt-dev:arm64 libsystemd-dev:arm64 busybox-static:arm64)
  fi
  # shellcheck source=packaging/debian-root.sh
  source "$SOURCE/packaging/debian-root.sh"
  set -euo pipefail
  if [[ $arch == arm64 ]]; then
    # Multiarch wants each library at one version for both architectures, and Debian 11's
    # security archive (LTS) serves amd64 but no longer arm64: the cross root takes
    # Debian 11's last point release for both.
    debian_root_write_sources() {
      local root=$1 release=$2 mirror
      mirror=$(debian_root_mirror debian)
      printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$release" "$mirror" "$release" \
        >"$root/etc/apt/sources.list"
      printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\nAcquire::Retries "3";\n' \
        >"$root/etc/apt/apt.conf.d/99execmond-root"
    }
  fi
  debian_root_ensure "$RELEASE" "$arch" portable "$(IFS=,; echo "${packages[*]}")"
  debian_root_hold

  deps=$PORTABLE_CACHE/$RELEASE-$arch
  ccache_dir=$DEBIAN_ROOTS_CACHE/ccache/$RELEASE-$arch
  out=$output/portable/$arch
  mkdir -p "$deps" "$ccache_dir" "$out" "$out/skeleton"
  cp "$skeleton" "$out/skeleton/execmond.skel.h"

  work=$(mktemp -d /var/tmp/execmond-portable.XXXXXX)
  mounted=0
  cleanup() {
    if ((mounted)); then umount "$work/root" 2>/dev/null || umount --lazy "$work/root"; fi
    debian_root_remove_tree "$work"
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  mounted=$(debian_root_overlay "$work")
  mapfile -t nspawn < <(debian_root_nspawn_base)
  log "building execmond for $arch in the Debian 11 root $DEBIAN_ROOT"
  # One build at a time per architecture: the static libraries' cache is shared.
  exec {lock}>"$deps.lock"
  flock "$lock"
  systemd-nspawn "${nspawn[@]}" --directory="$work/root" --pipe \
    --bind-ro="$SOURCE:/src" --bind-ro="$out/skeleton:/skeleton" --bind="$deps:/deps" \
    --bind="$out:/out" --bind="$ccache_dir:/var/cache/ccache" \
    -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive CCACHE_DIR=/var/cache/ccache \
    EXECMOND_PORTABLE_JOBS="${EXECMOND_PORTABLE_JOBS:-2}" \
    bash /src/packaging/portable/build-in-root.sh "$arch" </dev/null ||
    die "the build in the Debian 11 root failed (see above)"
  exec {lock}>&-

  binary=$out/stage/execmond
  # Only the C library, and nothing newer than glibc 2.31.
  needed=$(readelf -dW "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  foreign=$(grep -vE "$C_LIBRARIES" <<<"$needed" || true)
  [[ -z $foreign ]] || die "the binary needs libraries other than the C library: $(echo $foreign)"
  newest=$(readelf -VW "$binary" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/GLIBC_//' | sort -uV |
    tail -n1)
  [[ $(printf '%s\n%s\n' "$newest" "$MAX_GLIBC" | sort -V | tail -n1) == "$MAX_GLIBC" ]] ||
    die "the binary needs glibc $newest, newer than $MAX_GLIBC"

  # The tarball: one directory, as node_exporter's release tarballs are laid out.
  name=execmond-$version-linux-$arch
  stage=$out/$name
  rm -rf "$stage"
  mkdir -p "$stage"
  cp "$binary" "$stage/execmond"
  sed 's|@EXECMOND_BINARY@|/usr/local/sbin/execmond|' "$SOURCE/packaging/systemd/execmond.service.in" \
    >"$stage/execmond.service"
  cp "$SOURCE/config/execmond.yaml" "$SOURCE/packaging/man/execmond.8" "$SOURCE/LICENSE" "$stage/"
  install -m 755 "$HERE/install.sh" "$stage/install.sh"
  {
    echo "execmond $version, linux-$arch, is licensed under the Apache License 2.0 (LICENSE); its"
    echo "BPF programs under (LGPL-2.1 OR BSD-2-Clause). The binary holds these libraries,"
    echo "linked statically, built from Debian's packages of them (source: the Debian archive,"
    echo "https://sources.debian.org/), each under the licence its copyright file below states:"
    echo
    sed 's/^/  /' "$out/stage/versions"
    for notice in "$out"/stage/copyright/*; do
      printf '\n==== %s ====\n\n' "$(basename "$notice")"
      cat "$notice"
    done
  } >"$stage/NOTICE"
  tarball=$output/$name.tar.gz
  epoch=$(git -C "$SOURCE" log -1 --format=%ct 2>/dev/null || date +%s)
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -C "$out" -cf - "$name" |
    gzip -9n >"$tarball.tmp"
  mv "$tarball.tmp" "$tarball"
  (cd "$output" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")

  size=$(stat -c %s "$binary")
  echo "portable: $tarball"
  echo "portable: binary $((size / 1024)) KiB (stripped), NEEDED: $(echo $needed)"
  echo "portable: newest glibc symbol version needed: GLIBC_$newest (at most $MAX_GLIBC)"
  echo "portable: static libraries: $(paste -sd, "$out/stage/versions" | sed 's/,/, /g')"
}

main "$@"

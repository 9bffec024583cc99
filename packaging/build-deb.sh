#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Builds execmond's Debian package for a named release, in a clean root of that release
# (packaging/debian-root.sh), with that release's compilers and libraries: its Depends
# come from that release's shlibs, its unit goes where that release's systemd wants it,
# and that release's lintian checks it.
#
#   packaging/build-deb.sh [OPTIONS] bookworm|trixie [amd64|arm64]
#     -> build/deb/execmond_<version>~deb12_<arch>.deb, ...~deb13_...
#
#   --out DIR       where the .deb goes (default: build/deb in the source tree); the
#                   build tree is kept beside it in DIR/tree/<release>-<arch>, so that a
#                   rebuild is incremental (and ccache is shared between trees)
#   --version V     the package's version instead of <project version>~debNN (the
#                   package test builds an upgrade this way)
#   --extra-version V
#                   also package the same build as version V, into DIR (the package
#                   test's upgrade); lintian checks only the first
#   --no-lintian    skip lintian
#   --print-version print the version the package would have, build nothing
#
# arm64 is a cross build (Debian multiarch, packaging/toolchains/aarch64-linux-gnu.cmake).
# The compiler runs with -Werror and without the tests (EXECMOND_TESTS=OFF). Prints the
# .deb's path last. Exit 0 only if the build and lintian (no error, no warning) passed.
set -euo pipefail

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=packaging/debian-root.sh
source "$SOURCE_DIR/packaging/debian-root.sh"

die() {
  printf 'build-deb: %s\n' "$*" >&2
  exit 2
}
log() { printf 'build-deb: %s\n' "$*" >&2; }

release_number() {
  case $1 in
    bullseye) echo 11 ;;
    bookworm) echo 12 ;;
    trixie) echo 13 ;;
    *) die "unknown release '$1' (bookworm or trixie)" ;;
  esac
}

project_version() {
  sed -n 's/^project(execmond VERSION \([0-9.]*\).*/\1/p' "$SOURCE_DIR/CMakeLists.txt"
}

main() {
  local out="$SOURCE_DIR/build/deb" version="" extra_version="" lintian=1 print_version=0 release="" arch=""
  while (($#)); do
    case $1 in
      --out) out=$2; shift 2 ;;
      --version) version=$2; shift 2 ;;
      --extra-version) extra_version=$2; shift 2 ;;
      --no-lintian) lintian=0; shift ;;
      --print-version) print_version=1; shift ;;
      -*) die "unknown option $1" ;;
      *)
        if [[ -z $release ]]; then release=$1; elif [[ -z $arch ]]; then arch=$1; else die "too many arguments"; fi
        shift
        ;;
    esac
  done
  [[ -n $release ]] || die "usage: build-deb.sh [--out DIR] [--version V] [--no-lintian] bookworm|trixie [amd64|arm64]"
  local number host_arch
  number=$(release_number "$release")
  host_arch=$(dpkg --print-architecture)
  arch=${arch:-$host_arch}
  case $arch in amd64 | arm64) ;; *) die "unknown architecture '$arch' (amd64 or arm64)" ;; esac
  local default_version
  default_version="$(project_version)~deb$number"
  [[ $default_version != "~deb$number" ]] || die "no project(execmond VERSION ...) in CMakeLists.txt"
  if ((print_version)); then
    echo "${version:-$default_version}"
    return
  fi

  local tree="$out/tree/$release-$arch" staging="$out/tree/$release-$arch.out"
  mkdir -p "$tree" "$out"
  rm -rf "$staging"
  mkdir -p "$staging"
  out=$(readlink -f "$out")
  tree=$(readlink -f "$tree")

  local configure=(cmake -S /src -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEXECMOND_WERROR=ON
    -DEXECMOND_TESTS=OFF "-DEXECMOND_DEBIAN_RELEASE=$number"
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # The release's hardening and optimisation flags, as debhelper passes them to CMake
  # (which ignores CPPFLAGS: they go into the compiler flags).
  local buildflags=(dpkg-buildflags --export=sh)
  local cpack=(cpack -G DEB --config /build/CPackConfig.cmake)
  [[ -n $version ]] && cpack+=(-D "CPACK_PACKAGE_VERSION=$version")
  local extra_cpack=()
  if [[ -n $extra_version ]]; then
    extra_cpack=("${cpack[@]}" -B /staging/extra -D "CPACK_PACKAGE_VERSION=$extra_version")
  fi
  cpack+=(-B /staging)
  if [[ $arch != "$host_arch" ]]; then
    configure+=(-DCMAKE_TOOLCHAIN_FILE=/src/packaging/toolchains/aarch64-linux-gnu.cmake)
    # dpkg-shlibdeps reads the target's libraries and symbols files for DEB_HOST_ARCH.
    # (CC: the compiler dpkg-architecture checks the GNU type against.)
    local target=(env CC=aarch64-linux-gnu-gcc dpkg-architecture -a "$arch" -c)
    cpack=("${target[@]}" "${cpack[@]}")
    [[ -z $extra_version ]] || extra_cpack=("${target[@]}" "${extra_cpack[@]}")
    buildflags=("${target[@]}" "${buildflags[@]}")
  fi
  local jobs=${EXECMOND_BUILD_JOBS:-$(nproc)}
  # One shell inside the root: configure, build, package, check.
  local script
  script=$(
    cat <<EOF
set -e
eval "\$($(printf '%q ' "${buildflags[@]}"))"
$(printf '%q ' "${configure[@]}") -DCMAKE_C_FLAGS="\$CFLAGS \$CPPFLAGS" \
  -DCMAKE_CXX_FLAGS="\$CXXFLAGS \$CPPFLAGS" -DCMAKE_EXE_LINKER_FLAGS="\$LDFLAGS" >/build/configure.log || { tail -n 30 /build/configure.log; exit 1; }
ccache --zero-stats >/dev/null
cmake --build /build -j $jobs
$(printf '%q ' "${cpack[@]}") >/build/cpack.log 2>&1 || { tail -n 30 /build/cpack.log; exit 1; }
$( ((${#extra_cpack[@]})) && printf '%s >>/build/cpack.log 2>&1 || { tail -n 30 /build/cpack.log; exit 1; }' "$(printf '%q ' "${extra_cpack[@]}")")
echo "ccache: \$(ccache --print-stats | awk -F'\t' '\$1 ~ /^(direct_cache_hit|preprocessed_cache_hit)\$/ { h += \$2 } \$1 ~ /^cache_miss\$/ { m = \$2 } END { print h + 0 " hits, " m + 0 " misses" }')"
EOF
  )
  log "building the $release ($arch) package in a clean $release root"
  local start=$SECONDS
  "$SOURCE_DIR/packaging/debian-root.sh" run "$release" --arch "$arch" --set build --ccache \
    --bind-ro "$SOURCE_DIR:/src" --bind "$tree:/build" --bind "$staging:/staging" \
    -- /bin/sh -c "$script" >&2 || die "the build in the $release root failed"
  local debs=("$staging"/execmond_*.deb)
  [[ -f ${debs[0]} && ${#debs[@]} -eq 1 ]] || die "cpack wrote no single execmond_*.deb in $staging"
  local deb extra
  deb="$out/$(basename "${debs[0]}")"
  mv -f "${debs[0]}" "$deb"
  if [[ -n $extra_version ]]; then
    extra=("$staging"/extra/execmond_*.deb)
    [[ -f ${extra[0]} && ${#extra[@]} -eq 1 ]] || die "cpack wrote no single execmond_*.deb for $extra_version"
    mv -f "${extra[0]}" "$out/"
    log "also packaged $(basename "${extra[0]}")"
  fi
  rm -rf "$staging"
  log "built $(basename "$deb") in $((SECONDS - start)) s"

  if ((lintian)); then
    local rc=0 report
    # That release's lintian, as its archive would run it. Root privileges are the
    # container's; the note about them is noise.
    report=$("$SOURCE_DIR/packaging/debian-root.sh" run "$release" --arch "$arch" --set build \
      --bind-ro "$deb:/tmp/$(basename "$deb")" -- \
      lintian --fail-on error,warning --pedantic --display-info "/tmp/$(basename "$deb")" 2>&1) || rc=$?
    report=$(grep -v 'running with root privileges' <<<"$report" | sed 's/^/    /') || true
    [[ -z $report ]] || printf '%s\n' "$report" >&2
    ((rc == 0)) || die "$release's lintian reports errors or warnings on $(basename "$deb")"
    log "lintian ($release): no error, no warning on $(basename "$deb")"
  fi
  echo "$deb"
}

main "$@"

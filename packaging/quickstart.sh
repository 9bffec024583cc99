#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's two set-up commands, on a fresh Debian 12 or 13 machine, as root:
#   packaging/quickstart.sh run    install what the build needs, build, run the daemon on
#                                  its embedded default configuration
#   packaging/quickstart.sh test   install what the build and the tests need, build, run
#                                  every test suite (what CI runs); more arguments go
#                                  to ctest, e.g. -R '^unit$'
#   packaging/quickstart.sh packages build-tools|build-libraries|test
#                                  print a package list (for packaging/debian-root.sh)
set -euo pipefail

# What the build needs: tools run on the build machine, and the libraries (-dev) linked
# into execmond (a cross build takes these for the target architecture: see
# packaging/debian-root.sh). The same names on Debian 12 and 13.
build_tools=(cmake make g++ pkg-config clang llvm bpftool)
build_libraries=(libbpf-dev libelf-dev zlib1g-dev prometheus-cpp-dev libspdlog-dev libyaml-cpp-dev
  libsystemd-dev catch2 libssl-dev libcrypt-dev)
# clang's sanitizer and libFuzzer runtimes (the sanitize preset and the fuzz targets) and
# ccache (its build: a rerun, or a CI that keeps ~/.cache/ccache, skips the compiling);
# promtool; pytest and an independent exposition parser; the reference tools the trace
# is compared with (and the benchmark's peers, with bpftrace); a real systemd in a
# container; other kernels under QEMU (x86_64 and arm64); openssl makes the endpoint tests' certificates
# (their bcrypt hashes come from python3's crypt module); lintian checks the package,
# podman and runc build and run the image, python3-kubernetes validates the manifests;
# musl's loader is the second loader family the loader tests run.
test_packages=(libclang-rt-dev ccache prometheus python3-pytest python3-prometheus-client libbpf-tools bpftrace
  ansible-core python3-yaml curl debootstrap systemd-container qemu-system-x86 busybox-static
  cpio openssl lintian podman runc python3-kubernetes qemu-system-arm musl)

mode=${1:-}
case "$mode" in
  run | test) ;;
  # The lists, for the scripts that build clean roots (packaging/debian-root.sh).
  packages)
    case ${2:-} in
      build-tools) printf '%s\n' "${build_tools[@]}" ;;
      build-libraries) printf '%s\n' "${build_libraries[@]}" ;;
      test) printf '%s\n' "${test_packages[@]}" ;;
      *) echo "usage: $0 packages build-tools|build-libraries|test" >&2; exit 2 ;;
    esac
    exit 0
    ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "$0: run as root: it installs packages and loads BPF programs" >&2; exit 1; }
cd "$(dirname "$0")/.."

build_packages=("${build_tools[@]}" "${build_libraries[@]}")
packages=("${build_packages[@]}")
[ "$mode" = test ] && packages+=("${test_packages[@]}")
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"

werror=OFF
[ "$mode" = test ] && werror=ON
launcher=()
# With ccache (installed for the tests) a rebuild in a fresh clone is mostly cache hits:
# paths are taken relative to the clone, so another clone's objects match.
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEXECMOND_WERROR="$werror" "${launcher[@]}"
cmake --build build -j "${EXECMOND_BUILD_JOBS:-$(nproc)}"

if [ "$mode" = run ]; then
  echo "execmond: serving http://localhost:9717/metrics until Ctrl-C"
  exec ./build/daemon/execmond
fi
cd build
# Further arguments go to ctest (e.g. -R '^unit$').
shift
exec ctest --output-on-failure "$@"

#!/usr/bin/env bash
# The README's two set-up commands, on a fresh Debian 12 machine, as root:
#   packaging/quickstart.sh run    install what the build needs, build, run the daemon on
#                                  its embedded default configuration
#   packaging/quickstart.sh test   install what the build and the tests need, build, run
#                                  every test suite (what CI runs)
set -euo pipefail

mode=${1:-}
case "$mode" in
  run | test) ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "$0: run as root: it installs packages and loads BPF programs" >&2; exit 1; }
cd "$(dirname "$0")/.."

build_packages=(cmake make g++ pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
  prometheus-cpp-dev libspdlog-dev libyaml-cpp-dev libsystemd-dev catch2 libssl-dev libcrypt-dev)
# promtool; pytest and an independent exposition parser; the reference tools the trace
# is compared with (and the benchmark's peers, with bpftrace); a real systemd in a
# container; other kernels under QEMU; openssl makes the endpoint tests' certificates
# (their bcrypt hashes come from python3's crypt module); lintian checks the package,
# podman and runc build and run the image, python3-kubernetes validates the manifests;
# musl's loader is the second loader family the loader tests run.
test_packages=(prometheus python3-pytest python3-prometheus-client libbpf-tools bpftrace
  ansible-core python3-yaml curl debootstrap systemd-container qemu-system-x86 busybox-static
  cpio openssl lintian podman runc python3-kubernetes musl)

packages=("${build_packages[@]}")
[ "$mode" = test ] && packages+=("${test_packages[@]}")
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"

werror=OFF
[ "$mode" = test ] && werror=ON
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEXECMOND_WERROR="$werror"
cmake --build build -j "$(nproc)"

if [ "$mode" = run ]; then
  echo "execmond: serving http://localhost:9717/metrics until Ctrl-C"
  exec ./build/daemon/execmond
fi
cd build
exec ctest --output-on-failure

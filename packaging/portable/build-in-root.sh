#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Inside the Debian 11 root, run by packaging/portable/build-portable.sh:
#
#   build-in-root.sh ARCH     ARCH: amd64, or arm64 (a cross build on amd64)
#
# with the source at /src (read-only), the BPF skeleton at /skeleton/execmond.skel.h,
# the static libraries' cache at /deps and the output at /out (/out/build: the CMake
# tree; /out/stage: the stripped binary and the licence notes of what it holds).
#
# 1. The static libraries Debian 11 lacks or has too old are built from Debian 12's own
#    source packages (`apt-get source`, the Debian archive only) into /deps: fmt 9,
#    spdlog 1.10, yaml-cpp 0.7, prometheus-cpp 1.0 (core only) and libbpf 1.1 with the
#    kernel UAPI headers it ships (Debian 11's 5.10 ones predate task storage), the
#    versions Debian 12 builds execmond with. Debian 11's own static archives serve the
#    rest (OpenSSL 1.1.1, zlib, libelf, libxcrypt, libstdc++ and libgcc of gcc 10).
#    /deps/.complete says what was built; a /deps that has it is reused.
# 2. execmond is configured with EXECMOND_PORTABLE=ON against them and built.
# 3. /out/sysroot: the C library the binary was built against (Debian 11's glibc 2.31),
#    for the container image and the arm64 VM. /out/test, for the tests that run the
#    binary elsewhere (tests/portable/, tests/arm64/): the workload, linked statically,
#    and for arm64 busybox.
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: build-in-root.sh amd64|arm64" >&2; exit 2; }
readonly ARCH=$1 PREFIX=/deps RELEASE=bookworm
readonly SOURCES="fmtlib spdlog yaml-cpp prometheus-cpp libbpf"
readonly JOBS=${EXECMOND_PORTABLE_JOBS:-2}
log() { echo "build-in-root: $*" >&2; }

cross=()
case $ARCH in
  amd64) triplet=x86_64-linux-gnu ;;
  arm64)
    triplet=aarch64-linux-gnu
    # Compilers from crossbuild-essential-arm64, libraries from the :arm64 packages.
    cat >/tmp/aarch64.cmake <<'TOOLCHAIN'
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/cmake)
TOOLCHAIN
    cross=(-DCMAKE_TOOLCHAIN_FILE=/tmp/aarch64.cmake)
    export PKG_CONFIG_LIBDIR=/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig
    ;;
  *) log "unknown architecture $ARCH"; exit 2 ;;
esac
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig

# A static archive, position-independent so that the PIE can hold it.
cmake_build() {
  local dir=$1
  shift
  cmake -S "$dir" -B "$dir/_build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" \
    -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_PREFIX_PATH="$PREFIX" -DBUILD_SHARED_LIBS=OFF \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_C_COMPILER_LAUNCHER=ccache \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "${cross[@]}" "$@" >&2
  cmake --build "$dir/_build" -j "$JOBS" >&2
  cmake --install "$dir/_build" >&2
}

build_static_libraries() {
  local stamp="release $RELEASE arch $ARCH sources $SOURCES (2)" mirror work source
  if [[ -f $PREFIX/.complete && $(<"$PREFIX/.complete") == "$stamp" ]]; then
    log "using the static libraries in $PREFIX: $(paste -sd, "$PREFIX/versions")"
    return
  fi
  # Debian 12's sources, beside the root's Debian 11 binaries.
  mirror=$(sed -n 's/^deb \([^ ]*\) bullseye main$/\1/p' /etc/apt/sources.list | head -n1)
  echo "deb-src $mirror $RELEASE main" >/etc/apt/sources.list.d/execmond-sources.list
  apt-get -q update >&2
  work=$(mktemp -d)
  cd "$work"
  for source in $SOURCES; do
    log "fetching the Debian $RELEASE source of $source"
    apt-get -q source "$source/$RELEASE" >&2
  done
  find "$PREFIX" -mindepth 1 -delete

  log "building fmt"
  cmake_build fmtlib-[0-9]*/ -DFMT_TEST=OFF -DFMT_DOC=OFF
  log "building spdlog"
  cmake_build spdlog-[0-9]*/ -DSPDLOG_FMT_EXTERNAL=ON -DSPDLOG_BUILD_SHARED=OFF \
    -DSPDLOG_BUILD_EXAMPLE=OFF -DSPDLOG_BUILD_TESTS=OFF -DSPDLOG_BUILD_BENCH=OFF
  log "building yaml-cpp"
  cmake_build yaml-cpp-[0-9]*/ -DYAML_BUILD_SHARED_LIBS=OFF -DYAML_CPP_BUILD_TESTS=OFF \
    -DYAML_CPP_BUILD_TOOLS=OFF -DYAML_CPP_BUILD_CONTRIB=OFF
  log "building prometheus-cpp (core)"
  cmake_build prometheus-cpp-[0-9]*/ -DENABLE_PULL=OFF -DENABLE_PUSH=OFF -DENABLE_COMPRESSION=OFF \
    -DENABLE_TESTING=OFF -DUSE_THIRDPARTY_LIBRARIES=OFF
  log "building libbpf"
  local tools=(CC="ccache gcc")
  [[ $ARCH == arm64 ]] && tools=(CC="ccache aarch64-linux-gnu-gcc" AR=aarch64-linux-gnu-ar)
  mkdir -p "$work/libbpf-obj"
  make -C libbpf-[0-9]*/src -j "$JOBS" BUILD_STATIC_ONLY=1 OBJDIR="$work/libbpf-obj" \
    PREFIX="$PREFIX" LIBDIR="$PREFIX/lib" EXTRA_CFLAGS=-fPIC "${tools[@]}" \
    install install_uapi_headers >&2

  # What the tarball's licence notes quote: each library's Debian copyright file.
  mkdir -p "$PREFIX/copyright"
  for source in $SOURCES; do
    cp "$source"-[0-9]*/debian/copyright "$PREFIX/copyright/$source"
    echo "$source $(cd "$source"-[0-9]*/ && dpkg-parsechangelog -S Version)" >>"$PREFIX/versions"
  done
  cd /
  rm -rf "$work"
  printf '%s\n' "$stamp" >"$PREFIX/.complete"
  log "built: $(paste -sd, "$PREFIX/versions")"
}

build_execmond() {
  cmake -S /src -B /out/build -DCMAKE_BUILD_TYPE=Release -DEXECMOND_PORTABLE=ON \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DEXECMOND_TESTS=OFF -DEXECMOND_WERROR=ON -DEXECMOND_BPF_SKELETON=/skeleton/execmond.skel.h \
    -DCMAKE_PREFIX_PATH="$PREFIX" "${cross[@]}" >&2
  cmake --build /out/build --target execmond -j "$JOBS" >&2
  rm -rf /out/stage
  mkdir -p /out/stage/copyright
  "$triplet-strip" --strip-unneeded -o /out/stage/execmond /out/build/daemon/execmond
  cp "$PREFIX"/copyright/* /out/stage/copyright/
  cp "$PREFIX/versions" /out/stage/versions
  # Debian 11's static archives: each one's copyright file and version.
  local entry package libstdcxx=libstdc++-10-dev:$ARCH
  # A cross build's libstdc++ is the cross compiler's own package.
  [[ $ARCH == amd64 ]] || libstdcxx=libstdc++-10-dev-$ARCH-cross
  for entry in libssl-dev:$ARCH=openssl zlib1g-dev:$ARCH=zlib libelf-dev:$ARCH=elfutils \
    libcrypt-dev:$ARCH=libxcrypt "$libstdcxx=gcc-10"; do
    package=${entry%%=*}
    cp "/usr/share/doc/${package%%:*}/copyright" "/out/stage/copyright/${entry#*=}"
    echo "${entry#*=} $(dpkg-query -W -f '${Version}' "$package")" >>/out/stage/versions
  done
  log "$(ldd --version | head -n1)"
}

build_test_files() {
  rm -rf /out/test /out/sysroot
  mkdir -p /out/test
  "$triplet-gcc" -O2 -static -pthread -o /out/test/execmond_workload /src/tests/workload/workload.c
  # The C library the binary needs, at the paths its loader and NEEDED entries name:
  # what an image FROM scratch or a bare initramfs must hold besides the binary.
  local file loader=/lib64/ld-linux-x86-64.so.2
  [[ $ARCH == arm64 ]] && loader=/lib/ld-linux-aarch64.so.1
  for file in "$loader" /lib/$triplet/{libc.so.6,libm.so.6,libdl.so.2,libpthread.so.0,librt.so.1}; do
    mkdir -p "/out/sysroot$(dirname "$file")"
    cp -L "$file" "/out/sysroot$file"
  done
  if [[ $ARCH == arm64 ]]; then cp /bin/busybox /out/test/busybox; fi
}

# Run from main, read whole before it starts: an edit during a build cannot derail it.
main() {
  build_static_libraries
  build_execmond
  build_test_files
}

main

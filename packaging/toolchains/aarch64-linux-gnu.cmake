# SPDX-License-Identifier: Apache-2.0
#
# Cross build for arm64 on a Debian amd64 machine with multiarch: the compilers from
# crossbuild-essential-arm64, the libraries from the :arm64 -dev packages (their files
# under /usr/lib/aarch64-linux-gnu, their headers shared in /usr/include).
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=packaging/toolchains/aarch64-linux-gnu.cmake
#
# packaging/debian-root.sh --arch arm64 --set build makes such a machine; build-deb.sh
# RELEASE arm64 uses both. The BPF object is still compiled by the build machine's clang
# (-target bpf) for __TARGET_ARCH_arm64, and bpftool runs on the build machine.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
find_program(CMAKE_STRIP aarch64-linux-gnu-strip)

# Libraries and CMake packages only from the target's multiarch directories (CMake looks
# in /usr/lib/<CMAKE_LIBRARY_ARCHITECTURE>); programs (clang, bpftool, gzip) from the
# build machine.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/cmake)

# pkg-config reads only the target's .pc files (and the architecture-independent ones).
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# The package's Debian architecture (packaging/package.cmake).
set(EXECMOND_DEBIAN_ARCH arm64 CACHE STRING "Debian architecture of the package")

# SPDX-License-Identifier: Apache-2.0
# The portable release tarball (packaging/portable/build-portable.sh; needs root):
#   cmake --build build --target portable         this machine's architecture
#   cmake --build build --target portable-arm64   arm64 (or portable-amd64), from any host
# -> build/execmond-<version>-linux-<arch>.tar.gz
# Not inside the portable build itself (it is handed a prebuilt skeleton).
if(EXECMOND_BPF_SKELETON)
  return()
endif()

if(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(EXECMOND_HOST_DEBIAN_ARCH arm64)
else()
  set(EXECMOND_HOST_DEBIAN_ARCH amd64)
endif()

foreach(debian_arch amd64 arm64)
  set(bpf_arch ${debian_arch})
  if(debian_arch STREQUAL amd64)
    set(bpf_arch x86)
  endif()
  # bpf/CMakeLists.txt writes the build's own architecture's skeleton in bpf/, the
  # other's in bpf/<arch>/.
  set(skeleton ${PROJECT_BINARY_DIR}/bpf/${bpf_arch}/execmond.skel.h)
  if(debian_arch STREQUAL EXECMOND_HOST_DEBIAN_ARCH)
    set(skeleton ${PROJECT_BINARY_DIR}/bpf/execmond.skel.h)
  endif()
  add_custom_target(portable-${debian_arch}
    COMMAND ${PROJECT_SOURCE_DIR}/packaging/portable/build-portable.sh --arch ${debian_arch}
            --skeleton ${skeleton} --version ${PROJECT_VERSION} --output ${PROJECT_BINARY_DIR}
    COMMENT "Building execmond-${PROJECT_VERSION}-linux-${debian_arch}.tar.gz in a Debian 11 root"
    USES_TERMINAL
    VERBATIM)
  add_dependencies(portable-${debian_arch} execmond_bpf_object_${bpf_arch})
endforeach()
add_custom_target(portable)
add_dependencies(portable portable-${EXECMOND_HOST_DEBIAN_ARCH})

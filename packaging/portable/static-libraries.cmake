# SPDX-License-Identifier: Apache-2.0
# EXECMOND_PORTABLE: every library but the C library (libc, libm, libdl, libpthread,
# librt and the loader) linked from its static archive, so that the binary's NEEDED
# entries are glibc's alone and it runs on any distribution with glibc >= the build
# root's. packaging/portable/build-portable.sh configures with this in a Debian 11 root.

# find_library, find_package (OpenSSL, ZLIB, yaml-cpp, spdlog, fmt, prometheus-cpp) and
# pkg-config's imported targets all resolve -lNAME to libNAME.a.
set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
set(OPENSSL_USE_STATIC_LIBS TRUE)
add_link_options(-static-libstdc++ -static-libgcc)

# The C library's own, which stay shared.
set(EXECMOND_C_LIBRARIES c m dl pthread rt)

# pkg_check_modules(NAME ... IMPORTED_TARGET) links only the module's own library; a
# static archive also needs what the module's Libs.private/Requires.private name
# (libbpf: libelf and zlib). Give PkgConfig::NAME the whole static closure, each one
# as its archive.
function(execmond_static_pkg_target name)
  set(libraries)
  foreach(library IN LISTS ${name}_STATIC_LIBRARIES)
    if(library IN_LIST EXECMOND_C_LIBRARIES)
      list(APPEND libraries ${library})
      continue()
    endif()
    find_library(EXECMOND_STATIC_${library} NAMES lib${library}.a
                 HINTS ${${name}_STATIC_LIBRARY_DIRS} REQUIRED)
    list(APPEND libraries ${EXECMOND_STATIC_${library}})
  endforeach()
  set_property(TARGET PkgConfig::${name} PROPERTY INTERFACE_LINK_LIBRARIES "${libraries}")
endfunction()

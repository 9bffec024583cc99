# SPDX-License-Identifier: Apache-2.0
# What `cmake --install` installs, and the Debian package CPack builds from the same rules.
#
#   cmake --install build                    /usr/local/sbin/execmond, the unit in
#                                            /usr/local/lib/systemd/system
#   cmake --build build --target package     build/execmond_<version>~debNN_<arch>.deb:
#                                            /usr/sbin/execmond, the unit where that
#                                            release's systemd keeps them
#
# packaging/build-deb.sh RELEASE [ARCH] builds the package in a clean root of a release,
# with that release's libraries: what ships.
#
# Both put the configuration in /etc/execmond/execmond.yaml, the path the unit reads
# whatever the prefix. CPack installs into its staging tree with DESTDIR
# (CPACK_SET_DESTDIR), so the absolute paths below land in the package, never on the
# build host.
include(GNUInstallDirs)

# The Debian release the package is built on and for, from the build machine (the clean
# root of packaging/build-deb.sh): its number suffixes the package's version, and decides
# where the unit goes.
set(EXECMOND_DEBIAN_RELEASE "" CACHE STRING "Debian release number the package is for (default: this machine's)")
if(NOT EXECMOND_DEBIAN_RELEASE AND EXISTS /etc/os-release)
  file(STRINGS /etc/os-release os_id REGEX "^ID=")
  file(STRINGS /etc/os-release os_version REGEX "^VERSION_ID=")
  if(os_id STREQUAL "ID=debian" AND os_version MATCHES "^VERSION_ID=\"?([0-9]+)")
    set(EXECMOND_DEBIAN_RELEASE ${CMAKE_MATCH_1})
  endif()
endif()
# Debian 13's systemd keeps units in /usr/lib (its lintian flags /lib as an aliased
# location); up to Debian 12 they are in /lib, where that release's systemd packages put
# theirs.
if(EXECMOND_DEBIAN_RELEASE AND EXECMOND_DEBIAN_RELEASE LESS 13)
  set(EXECMOND_PACKAGE_UNIT_DIR /lib/systemd/system)
else()
  set(EXECMOND_PACKAGE_UNIT_DIR /usr/lib/systemd/system)
endif()

install(TARGETS execmond RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
# Relocations resolved at start, then the GOT made read-only (full RELRO), as Debian
# builds its daemons.
target_link_options(execmond PRIVATE LINKER:-z,relro LINKER:-z,now)

# The unit names the binary this install put in place: the prefix is only known when
# installing (CPack installs with /usr), so the template is filled in then. Under /usr
# the unit goes where the release's systemd packages put theirs.
install(CODE "
  set(sbindir \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}\")
  if(IS_ABSOLUTE \"${CMAKE_INSTALL_SBINDIR}\")
    set(sbindir \"${CMAKE_INSTALL_SBINDIR}\")
  endif()
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(unitdir ${EXECMOND_PACKAGE_UNIT_DIR})
  else()
    set(unitdir \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
  endif()
  set(EXECMOND_BINARY \"\${sbindir}/execmond\")
  configure_file(\"${PROJECT_SOURCE_DIR}/packaging/systemd/execmond.service.in\"
                 \"${PROJECT_BINARY_DIR}/packaging/execmond.service\" @ONLY)
  file(INSTALL \"${PROJECT_BINARY_DIR}/packaging/execmond.service\"
       DESTINATION \"\${unitdir}\" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)")

# A reinstall keeps the operator's edits (the package marks the file a conffile: dpkg
# keeps the edits across upgrades and asks before replacing them).
install(CODE "
  set(config \"\$ENV{DESTDIR}/etc/execmond/execmond.yaml\")
  if(EXISTS \"\${config}\")
    message(STATUS \"Keeping the existing \${config}\")
  else()
    file(INSTALL \"${PROJECT_SOURCE_DIR}/config/execmond.yaml\" DESTINATION /etc/execmond
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()")

# --- The Debian package ----------------------------------------------------------------

# The manual page and the changelog, compressed as Debian policy wants: gzip -9n (no
# name, no time stamp, so the package is reproducible).
find_program(GZIP_EXECUTABLE gzip REQUIRED)
set(EXECMOND_DOC_DIR ${PROJECT_BINARY_DIR}/packaging/doc)
foreach(source packaging/man/execmond.8 packaging/debian/changelog)
  get_filename_component(name ${source} NAME)
  add_custom_command(
    OUTPUT ${EXECMOND_DOC_DIR}/${name}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${EXECMOND_DOC_DIR}
    COMMAND ${GZIP_EXECUTABLE} -9nc ${PROJECT_SOURCE_DIR}/${source} > ${EXECMOND_DOC_DIR}/${name}.gz
    DEPENDS ${PROJECT_SOURCE_DIR}/${source}
    VERBATIM)
endforeach()
add_custom_target(execmond_package_docs ALL
                  DEPENDS ${EXECMOND_DOC_DIR}/execmond.8.gz ${EXECMOND_DOC_DIR}/changelog.gz)
install(FILES ${EXECMOND_DOC_DIR}/execmond.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${EXECMOND_DOC_DIR}/changelog.gz packaging/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
# What lintian would otherwise report wrongly (each override says why).
install(FILES packaging/debian/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME execmond)

# dpkg treats every file listed here as the admin's once installed.
file(WRITE ${PROJECT_BINARY_DIR}/packaging/conffiles "/etc/execmond/execmond.yaml\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME execmond)
# <version>~debNN: a rebuild of one upstream version per release, like Debian's own
# backports (~bpoNN) and security rebuilds (+debNNuM). `~` sorts before anything, so
# 0.1.0~deb12 < 0.1.0~deb13 < 0.1.0 < 0.1.1~deb12: a dist-upgrade from 12 to 13 upgrades
# the package, and a new upstream version upgrades either (run-package-test.sh checks).
if(EXECMOND_DEBIAN_RELEASE)
  set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION}~deb${EXECMOND_DEBIAN_RELEASE})
endif()
# A cross build (packaging/toolchains/) names the target's Debian architecture;
# otherwise CPack asks dpkg for the build machine's.
if(EXECMOND_DEBIAN_ARCH)
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${EXECMOND_DEBIAN_ARCH})
endif()
set(CPACK_PACKAGE_VENDOR "execmond")
set(CPACK_PACKAGE_CONTACT "execmond maintainers <execmond@example.org>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/packaging/strip-for-package.cmake)
set(CPACK_EXECMOND_STRIP ${CMAKE_STRIP})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: from the libraries the binary links, with the minimum versions their
# packages' symbols files give (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The maintainer scripts enable and start the unit with deb-systemd-helper and
# deb-systemd-invoke, as debhelper's would. libsystemd0 is opened at run time
# (daemon/service/libsystemd.h), which dpkg-shlibdeps cannot see: the unit is
# Type=notify, so the package names it.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "init-system-helpers (>= 1.52), libsystemd0")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "process exec and exit metrics for Prometheus, from eBPF")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "execmond counts every exec, exit and failed exec on the host per process name,
with exit codes, fatal signals and process lifetimes, and serves the counts to
Prometheus on /metrics. Its eBPF programs run on the scheduler's process
tracepoints (CO-RE: one binary for Linux 5.8 and later with BTF).
.
`execmond trace` shows the same events live, like execsnoop and exitsnoop.
.
The service is enabled and started on installation.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_BINARY_DIR}/packaging/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
include(CPack)

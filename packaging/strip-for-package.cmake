# SPDX-License-Identifier: Apache-2.0
# Run by CPack (CPACK_PRE_BUILD_SCRIPTS) on its staging tree, before it builds the .deb:
# strips the daemon as dh_strip would (debug symbols and the .comment and .note sections
# out). `cmake --install` keeps the symbols; only the package is stripped.
file(GLOB_RECURSE binaries "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*/sbin/execmond")
if(NOT binaries)
  message(FATAL_ERROR "strip-for-package: no sbin/execmond under ${CPACK_TEMPORARY_INSTALL_DIRECTORY}")
endif()
foreach(binary IN LISTS binaries)
  execute_process(
    COMMAND "${CPACK_EXECMOND_STRIP}" --strip-unneeded --remove-section=.comment
            --remove-section=.note "${binary}"
    RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "strip-for-package: ${CPACK_EXECMOND_STRIP} failed on ${binary}")
  endif()
endforeach()

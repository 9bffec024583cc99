# The sanitizer build (CMakePresets.json, preset "sanitize"): every C++ target with
# AddressSanitizer and UndefinedBehaviorSanitizer, any report fatal; and, with clang, the
# coverage instrumentation libFuzzer needs, so that tests/fuzz builds its targets in the
# same tree. C targets (the test workload, the benchmark's static programs) are left
# alone: a workload that must die by SIGSEGV cannot run under ASan's signal handler.
option(EXECMOND_SANITIZE "Build the daemon and its tests with ASan and UBSan" OFF)
option(EXECMOND_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only; implies EXECMOND_SANITIZE)" OFF)

if(EXECMOND_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "EXECMOND_FUZZ needs clang (libFuzzer): configure with "
                        "-DCMAKE_CXX_COMPILER=clang++ or the \"sanitize\" preset")
  endif()
  set(EXECMOND_SANITIZE ON)
endif()

if(EXECMOND_SANITIZE)
  set(execmond_sanitizers -fsanitize=address,undefined -fno-sanitize-recover=all
                          -fno-omit-frame-pointer)
  if(EXECMOND_FUZZ)
    # Coverage for libFuzzer in every library; only the fuzz targets link its main().
    list(APPEND execmond_sanitizers -fsanitize=fuzzer-no-link)
  endif()
  foreach(flag IN LISTS execmond_sanitizers)
    add_compile_options($<$<COMPILE_LANGUAGE:CXX>:${flag}>)
  endforeach()
  add_link_options($<$<LINK_LANGUAGE:CXX>:-fsanitize=address,undefined>)
endif()

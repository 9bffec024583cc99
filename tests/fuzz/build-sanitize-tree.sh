#!/usr/bin/env bash
# Configures and builds the "sanitize" preset (CMakePresets.json: clang, ASan + UBSan,
# libFuzzer coverage, the fuzz targets) in a tree of its own, and in it only what the
# sanitize-unit, sanitize-integration and fuzz tests run: the daemon, the unit tests and
# the fuzz targets (not the benchmark's programs, nor the workload: the integration suite
# runs the main tree's, uninstrumented).
#   build-sanitize-tree.sh <source dir> <build dir>
# EXECMOND_BUILD_JOBS caps the parallel jobs (default: every core). With ccache installed
# every compilation goes through it (CCACHE_DIR etc. as usual): a CI that keeps the cache
# between runs pays the cold build once.
set -euo pipefail
source_dir=$1
build_dir=$2
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cd "$source_dir"
started=$(date +%s)
cmake --preset sanitize -B "$build_dir" "${launcher[@]}"
nice -n 10 cmake --build "$build_dir" -j "${EXECMOND_BUILD_JOBS:-$(nproc)}" \
  --target execmond execmond_unit_tests execmond_fuzz_targets
echo "sanitize tree built in $(($(date +%s) - started)) s: $build_dir"

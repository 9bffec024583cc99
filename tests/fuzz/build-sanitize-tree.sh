#!/usr/bin/env bash
# Configures and builds the "sanitize" preset (CMakePresets.json: clang, ASan + UBSan,
# libFuzzer coverage, the fuzz targets) in a tree of its own.
#   build-sanitize-tree.sh <source dir> <build dir>
# EXECMOND_BUILD_JOBS caps the parallel jobs (default: every core).
set -euo pipefail
source_dir=$1
build_dir=$2
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cd "$source_dir"
cmake --preset sanitize -B "$build_dir" "${launcher[@]}"
started=$(date +%s)
nice -n 10 cmake --build "$build_dir" -j "${EXECMOND_BUILD_JOBS:-$(nproc)}"
echo "sanitize tree built in $(($(date +%s) - started)) s: $build_dir"

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every fuzz target of tests/fuzz: first over its seed corpus, input by input (the
# regressions: every reproducer ever found lives there), then fuzzing for a bounded time
# from that corpus with its dictionary. Any crash, leak, timeout, out-of-memory or
# sanitizer report fails the run, naming the target and the input.
#   run-fuzz.sh <directory of built fuzz_* targets> <tests/fuzz source directory> [name...]
# EXECMOND_FUZZ_SECONDS: fuzzing time per target (default 20; 0: regressions only).
set -uo pipefail
bin_dir=$1
source_dir=$2
shift 2
seconds=${EXECMOND_FUZZ_SECONDS:-20}
# Per input: a parse that takes 5 s (under ASan) is a hang; 2 GiB is a runaway.
limits=(-timeout=5 -rss_limit_mb=2048)

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for source in "$source_dir"/fuzz_*.cpp; do
    name=$(basename "$source" .cpp)
    names+=("${name#fuzz_}")
  done
fi
[ ${#names[@]} -gt 0 ] || { echo "run-fuzz: no fuzz_*.cpp in $source_dir" >&2; exit 1; }

work=$(mktemp -d /tmp/execmond-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=()

report() {  # name, what, log, [input]
  echo "FAIL fuzz_$1: $2"
  tail -n 60 "$3" | sed 's/^/    /'
  if [ -n "${4:-}" ] && [ -f "$4" ]; then
    echo "    input ($(stat -c %s "$4") bytes), as hex:"
    od -An -tx1 -v "$4" | head -n 32 | sed 's/^/    /'
    echo "    add it to tests/fuzz/corpus/$1/ once fixed"
  fi
  failed+=("$1")
}

total_started=$(date +%s)
for name in "${names[@]}"; do
  target=$bin_dir/fuzz_$name
  corpus=$source_dir/corpus/$name
  dict=$source_dir/$name.dict
  log=$work/$name.log
  started=$(date +%s)
  # The convention is the contract: a target without its corpus or dictionary fails.
  if [ ! -x "$target" ]; then report "$name" "not built ($target)" /dev/null; continue; fi
  if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
    report "$name" "no seed corpus in $corpus" /dev/null; continue
  fi
  if [ ! -f "$dict" ]; then report "$name" "no dictionary $dict" /dev/null; continue; fi

  # 1. Regressions: each input of the corpus once.
  mapfile -t inputs < <(find "$corpus" -type f | sort)
  if ! "$target" "${limits[@]}" "${inputs[@]}" >"$log" 2>&1; then
    input=$(grep -o '^Running: .*' "$log" | tail -n 1 | cut -d' ' -f2-)
    report "$name" "an input of the seed corpus fails" "$log" "$input"
    continue
  fi

  # 2. Fuzzing, from the seed corpus; new inputs go to a scratch corpus, never the tree.
  if [ "$seconds" -gt 0 ]; then
    mkdir -p "$work/$name.corpus" "$work/$name.artifacts"
    if ! "$target" "${limits[@]}" -max_total_time="$seconds" -dict="$dict" \
        -artifact_prefix="$work/$name.artifacts/" -print_final_stats=1 \
        "$work/$name.corpus" "$corpus" >"$log" 2>&1; then
      artifact=$(find "$work/$name.artifacts" -type f | head -n 1)
      report "$name" "fuzzing found a failure" "$log" "$artifact"
      [ -n "$artifact" ] && cp "$artifact" "/tmp/execmond-fuzz-$name-$(basename "$artifact")" &&
        echo "    kept as /tmp/execmond-fuzz-$name-$(basename "$artifact")"
      continue
    fi
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  echo "ok   fuzz_$name: ${#inputs[@]} corpus inputs, ${runs:-0} fuzzed runs in" \
       "$(($(date +%s) - started)) s"
done
echo "fuzz: ${#names[@]} targets in $(($(date +%s) - total_started)) s," \
     "${seconds} s of fuzzing each"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}"
  exit 1
fi

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The portable release tarball on Debian 11, 12 and 13, and what it costs.
#
#   run-portable-test.sh BUILD_DIR
#
# 1. `cmake --build BUILD_DIR --target portable` makes (or, warm, refreshes)
#    BUILD_DIR/execmond-<version>-linux-<arch>.tar.gz (packaging/portable/).
# 2. In a clean root of each release (packaging/debian-root.sh, set base, cached),
#    under systemd-nspawn with the host's kernel, tests/portable/guest.sh unpacks the
#    tarball, validates the shipped configuration with --check-config, runs the binary
#    and checks that a storm of execs, an exit code, a signal, a failed exec and an
#    unexpected binary are counted exactly.
# 3. In a booted Debian 12 root, tests/portable/run-portable-systemd-test.sh: install.sh,
#    Type=notify readiness, the watchdog and journald fields through the libsystemd
#    the binary opens at run time.
# 4. On the host: the binary's size and its resident memory after the same storm,
#    beside the dynamically linked build's (BUILD_DIR/daemon/execmond), as figures.
#
# Needs root, debootstrap and systemd-nspawn, and the Debian archive for cold roots.
# Exits 0 only if every release passes; the last line is "portable: N passed, M failed".
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE=$(cd "$HERE/../.." && pwd)
readonly HERE SOURCE RELEASES=(bullseye bookworm trixie)
die() { echo "run-portable-test: error: $*" >&2; exit 2; }
log() { echo "run-portable-test: $*" >&2; }

# All in main, read whole before it runs: an edit during a run cannot derail it.
main() {
  [[ $# -eq 1 ]] || die "usage: run-portable-test.sh BUILD_DIR"
  build=$(cd "$1" && pwd)
  arch=$(dpkg --print-architecture)

  started=$SECONDS
  cmake --build "$build" --target portable || die "the portable build failed (see above)"
  log "the portable build took $((SECONDS - started))s"
  shopt -s nullglob
  tarballs=("$build"/execmond-*-linux-"$arch".tar.gz)
  shopt -u nullglob
  [[ ${#tarballs[@]} -eq 1 ]] || die "expected one execmond-*-linux-$arch.tar.gz in $build"
  workload=$build/portable/$arch/test/execmond_workload
  [[ -x $workload ]] || die "$workload is missing (the portable build makes it)"

  # shellcheck source=packaging/debian-root.sh
  source "$SOURCE/packaging/debian-root.sh"
  set -euo pipefail
  shared=$(mktemp -d /var/tmp/execmond-portable-test.XXXXXX)
  work=""
  mounted=0
  cleanup() {
    if ((mounted)); then umount "$work/root" 2>/dev/null || umount --lazy "$work/root"; fi
    [[ -z $work ]] || debian_root_remove_tree "$work"
    rm -rf "$shared"
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  cp "${tarballs[0]}" "$workload" "$HERE/guest.sh" "$shared/"

  rows=()
  passed=0
  failed=0
  for release in "${RELEASES[@]}"; do
    started=$SECONDS
    debian_root_ensure "$release" "$arch" base
    work=$(mktemp -d /var/tmp/execmond-portable-root.XXXXXX)
    mounted=$(debian_root_overlay "$work")
    mapfile -t nspawn < <(debian_root_nspawn_base)
    log "Debian $release: running the tarball in $DEBIAN_ROOT"
    # BPF from inside: every capability, and bpf(2) and perf_event_open(2), which nspawn's
    # seccomp filter blocks by default. Its own network: port 9717 clashes with nothing.
    output=$(systemd-nspawn "${nspawn[@]}" --directory="$work/root" --pipe --private-network \
      --capability=all --system-call-filter='bpf perf_event_open' --bind-ro="$shared:/t" \
      -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root /bin/sh /t/guest.sh \
      </dev/null 2>&1) || true
    if ((mounted)); then umount "$work/root" 2>/dev/null || umount --lazy "$work/root"; fi
    mounted=0
    debian_root_remove_tree "$work"
    work=""
    echo "$output" | sed "s/^/  $release: /"
    info=$(sed -n 's/^PORTABLE-INFO: //p' <<<"$output" | head -n1)
    result=$(sed -n 's/^PORTABLE-RESULT: //p' <<<"$output" | head -n1)
    if [[ $result == PASS ]]; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
    fi
    rows+=("$release|${result:-FAIL (no result)}|$((SECONDS - started))s|${info:-?}")
  done

  # Under a real systemd (one release: the code is the same on each).
  started=$SECONDS
  if "$HERE/run-portable-systemd-test.sh" "${tarballs[0]}" "$workload" bookworm; then
    passed=$((passed + 1))
    rows+=("bookworm+systemd|PASS|$((SECONDS - started))s|install.sh, Type=notify, watchdog, journald fields")
  else
    failed=$((failed + 1))
    rows+=("bookworm+systemd|FAIL|$((SECONDS - started))s|see above")
  fi

  # Size and memory: the same storm against each binary, on the host.
  rss_after_storm() { # BINARY PORT -> VmRSS in KiB after attach and 500 execs
    local binary=$1 port=$2 pid i rss
    "$binary" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
    pid=$!
    for ((i = 0; i < 300; i++)); do
      curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" && break
      kill -0 "$pid" 2>/dev/null || { echo "-"; return; }
      sleep 0.2
    done
    for ((i = 0; i < 500; i++)); do "$workload"; done
    curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" || true
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
    kill -TERM "$pid"
    wait "$pid" || true
    echo "$rss"
  }
  free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  portable_binary=$build/portable/$arch/stage/execmond
  echo
  echo "release          result  time  system"
  printf '%s\n' "${rows[@]}" | awk -F'|' '{ printf "%-16s %-7s %-5s %s\n", $1, $2, $3, $4 }'
  echo
  if [[ -x $build/daemon/execmond ]]; then
    static_rss=$(rss_after_storm "$portable_binary" "$(free_port)")
    dynamic_rss=$(rss_after_storm "$build/daemon/execmond" "$(free_port)")
    dynamic_size=$(strip -o "$shared/dynamic" "$build/daemon/execmond" && stat -c %s "$shared/dynamic")
    echo "portable binary: $(($(stat -c %s "$portable_binary") / 1024)) KiB stripped, RSS ${static_rss} KiB after attach and 500 execs"
    echo "dynamic build:   $((dynamic_size / 1024)) KiB stripped (plus its shared libraries), RSS ${dynamic_rss} KiB"
    if [[ $static_rss =~ ^[0-9]+$ && $dynamic_rss =~ ^[0-9]+$ ]]; then
      awk -v s="$static_rss" -v d="$dynamic_rss" 'BEGIN { printf "RSS ratio portable/dynamic: %.2f (target: within 10%%)\n", s / d }'
    fi
  fi
  echo "portable: $passed passed, $failed failed"
  ((failed == 0))
}

main "$@"

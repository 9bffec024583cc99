#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The portable tarball under a real systemd: in a clean Debian root booted in
# systemd-nspawn, `install.sh` installs, enables and starts the unit, and the binary,
# which opens libsystemd at run time, does what the package's does:
#   - Type=notify: the unit becomes active only on READY=1 (sd_notify);
#   - the watchdog (WatchdogSec=30s) is petted (WATCHDOG=1);
#   - an unexpected exec reaches the journal with its EXECMOND_* fields
#     (sd_journal_send), and the log says libsystemd was loaded;
#   - it counts the exec, and stops cleanly.
#
#   run-portable-systemd-test.sh TARBALL WORKLOAD [RELEASE]   (RELEASE: bookworm)
#
# Run by tests/portable/run-portable-test.sh. Ends with
# "portable-systemd: N passed, M failed".
set -Eeuo pipefail

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly SOURCE_DIR TEST_NAME=portable-systemd
readonly PROBE=pt_stray # a binary outside the shipped allow-list
MACHINE="execmond-portable-$$"
SUITE=${3:-bookworm}
CONFIG_FILE=$SOURCE_DIR/config/execmond.yaml
readonly MACHINE SUITE CONFIG_FILE
# shellcheck source=tests/systemd/lib.sh
source "$SOURCE_DIR/tests/systemd/lib.sh"

main() {
  (($# == 2 || $# == 3)) || die "usage: $0 TARBALL WORKLOAD [RELEASE]"
  local tarball=$1 workload=$2 props entry i
  [[ -f $tarball && -x $workload ]] || die "no tarball $tarball or workload $workload"
  ((EUID == 0)) || die "must run as root (debootstrap, systemd-nspawn)"
  need_tools
  ensure_rootfs
  WORK=$(mktemp -d /var/tmp/execmond-portable-systemd.XXXXXX)
  trap teardown EXIT
  trap 'printf "run-portable-systemd-test: unexpected failure at line %s: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR
  trap 'exit 130' INT TERM
  METRICS_URL=$(metrics_url)
  prepare_root
  mkdir -p "$WORK/root/opt/release"
  tar -xzf "$tarball" -C "$WORK/root/opt/release"
  install -m 755 "$workload" "$WORK/root/opt/$PROBE"
  boot_container

  in_container sh -c 'cd /opt/release/execmond-* && ./install.sh' >"$WORK/install.log" 2>&1 ||
    fail "install.sh failed: $(tail -n 5 "$WORK/install.log")"
  props=$(in_container timeout 10 systemctl show execmond -p ActiveState,SubState,Type,FragmentPath |
    sort | tr '\n' ' ')
  [[ $props == *"ActiveState=active"* && $props == *"Type=notify"* &&
    $props == *"FragmentPath=/etc/systemd/system/execmond.service"* ]] ||
    fail "after install.sh the unit is: $props"
  pass "install.sh: enabled and started; Type=notify and active, so READY=1 arrived ($props)"
  in_container timeout 10 journalctl --no-pager -u execmond -o cat | grep -q 'libsystemd.so.0 loaded' ||
    fail "the log does not say that libsystemd was loaded"
  pass "the log says libsystemd.so.0 was loaded"

  # The watchdog's timestamp moves with each WATCHDOG=1 (at most every quarter of 30 s).
  local first now
  first=$(in_container systemctl show execmond -p WatchdogTimestampMonotonic --value)
  for ((i = 0; i < 60; i++)); do
    now=$(in_container systemctl show execmond -p WatchdogTimestampMonotonic --value)
    [[ $now != "$first" && $now != 0 ]] && break
    sleep 0.25
  done
  [[ $now != "$first" && $now != 0 ]] || fail "no WATCHDOG=1 within 15 s (timestamp $first, then $now)"
  pass "the watchdog is petted (WATCHDOG=1 moved WatchdogTimestampMonotonic)"

  in_container "/opt/$PROBE" || fail "/opt/$PROBE failed"
  # No package owns it and no glob admits it: unpackaged (binaries: packaged: true).
  wait_for_metric "execmond_unexpected_execs_total{comm=\"$PROBE\",path=\"/opt/$PROBE\",reason=\"unpackaged\"}" 1
  for ((i = 0; i < 75; i++)); do
    entry=$(in_container timeout 10 journalctl --no-pager -o verbose \
      EXECMOND_EVENT=unexpected_exec "EXECMOND_PATH=/opt/$PROBE" 2>/dev/null) || true
    [[ $entry == *"EXECMOND_COMM=$PROBE"* ]] && break
    sleep 0.2
  done
  [[ $entry == *"EXECMOND_COMM=$PROBE"* ]] ||
    fail "no journal entry with EXECMOND_PATH=/opt/$PROBE: ${entry:0:400}"
  pass "an unexpected exec is counted and in the journal with its EXECMOND_* fields"

  in_container timeout 40 systemctl stop execmond || fail "systemctl stop execmond failed"
  props=$(in_container systemctl show execmond -p ActiveState,Result | sort | tr '\n' ' ')
  [[ $props == *"ActiveState=inactive"* && $props == *"Result=success"* ]] ||
    fail "after systemctl stop: $props"
  pass "systemctl stop: inactive, result success"
  printf '%s: %d passed, 0 failed\n' "$TEST_NAME" "$PASSED"
}

main "$@"

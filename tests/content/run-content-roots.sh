#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What the shipped configuration (packaged: true and its globs) flags on a stock Debian
# host, measured (issue 14 item 3): prints figures, and exits 1 if anything the host
# itself runs was flagged.
#
#   1. static: content_audit judges every file with an execute bit in the clean roots
#      of Debian 12 and 13 (the cached debootstrap roots), as if it ran;
#   2. dynamic, Debian 12: a root booted under systemd-nspawn with execmond installed and
#      enabled (the shipped configuration), then apt-get update, apt-get install of cron,
#      logrotate, man-db and unattended-upgrades, apt-get upgrade, apt-get install
#      --reinstall of coreutils and bash (core binaries replaced while they run), the
#      daily cron jobs (run-parts /etc/cron.daily) and the apt-daily, apt-daily-upgrade
#      (unattended-upgrades), logrotate and man-db services; then its
#      execmond_unexpected_execs_total.
#
# Usage: run-content-roots.sh BUILD_DIR
#   As root, under the shared lock (flock /var/lock/execmond-heavy.lock): it boots a
#   container and uses the cached roots in /var/cache/execmond-test. Needs the network for
#   apt-get in the container (the host's Debian mirror). Debian 13 is audited statically
#   here; booting it needs a Debian 13 build of execmond (packaging/build-deb.sh trixie).
#   BUILD_DIR holds daemon/execmond and tests/benchmark/content_audit.
set -Eeuo pipefail

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly SOURCE_DIR
readonly SUITE=bookworm
readonly BASE_PACKAGES=(systemd systemd-sysv dbus curl)
readonly UNIT_TEMPLATE="$SOURCE_DIR/packaging/systemd/execmond.service.in"
readonly CONFIG_FILE="$SOURCE_DIR/config/execmond.yaml"
readonly CACHE="${EXECMOND_ROOTFS_CACHE:-/var/cache/execmond-test/rootfs}"
readonly STAMP_NAME=.execmond-test-rootfs
readonly ROOTS="${EXECMOND_ROOTS_CACHE:-/var/cache/execmond-test/roots}"
readonly MACHINE="execmond-content-$$"
readonly TEST_NAME=content-roots
# shellcheck source=tests/systemd/lib.sh
source "$SOURCE_DIR/tests/systemd/lib.sh"

FLAGGED=0

# 1. Every executable of a clean root, judged as if it ran.
audit_root() {
  local root=$1 label=$2 out
  if [[ ! -d $root/var/lib/dpkg/info ]]; then
    log "$label: no cached root at $root (packaging/debian-root.sh ensure makes it)"
    FLAGGED=$((FLAGGED + 1))
    return
  fi
  out=$(flock -s "$root.lock" "$BUILD/tests/benchmark/content_audit" --root "$root" \
    --config "$CONFIG_FILE") || true
  printf 'MEASURE: %s, every executable judged as if it ran:\n%s\n' "$label" "$out"
  # /etc/hostname and /etc/resolv.conf carry an execute bit in these roots, but nothing
  # executes them.
  local real
  real=$(grep '^unexpected: ' <<<"$out" | grep -vE ' /etc/(hostname|resolv\.conf)$' || true)
  if [[ -n $real ]]; then
    printf 'FLAGGED in %s:\n%s\n' "$label" "$real"
    FLAGGED=$((FLAGGED + $(wc -l <<<"$real")))
  fi
}

# 2. The booted root. The container shares the host's network (apt-get); execmond
# listens on a free port of it.
PORT=""
boot_with_network() {
  local args=(--directory="$WORK/root" --machine="$MACHINE" --boot --console=read-only
    --capability=all --system-call-filter='bpf perf_event_open')
  if [[ ! -d /run/systemd/system ]]; then args+=(--register=no --keep-unit); fi
  container_cgroup
  (
    if [[ -n $CONTAINER_CGROUP ]]; then echo "$BASHPID" >"$CONTAINER_CGROUP/cgroup.procs"; fi
    exec systemd-nspawn "${args[@]}" </dev/null >"$WORK/console.log" 2>&1
  ) &
  NSPAWN_PID=$!
  local i state=""
  for ((i = 0; i < 100; i++)); do
    find_leader && break
    sleep 0.1
  done
  [[ -n $LEADER_PID ]] || fail "no systemd in the container after 10 s"
  for ((i = 0; i < 600; i++)); do
    state=$(in_container timeout 5 systemctl is-system-running 2>/dev/null) || true
    [[ $state == running || $state == degraded ]] && break
    sleep 0.2
  done
  [[ $state == running || $state == degraded ]] || fail "the container did not boot ($state)"
  log "booted (system state: $state)"
}

install_execmond() {
  local root=$WORK/root
  install -D -m 0755 "$BUILD/daemon/execmond" "$root/usr/local/sbin/execmond"
  # The shipped configuration, on a port of its own (the host's network).
  install -D -m 0644 "$CONFIG_FILE" "$root/etc/execmond/execmond.yaml"
  sed -i "s|^listen: .*|listen: \"127.0.0.1:$PORT\"|" "$root/etc/execmond/execmond.yaml"
  grep -q "^listen: \"127.0.0.1:$PORT\"" "$root/etc/execmond/execmond.yaml" ||
    die "could not set listen: in the shipped configuration"
  mkdir -p "$root/usr/local/lib/systemd/system" "$root/etc/systemd/system/multi-user.target.wants"
  sed 's|@EXECMOND_BINARY@|/usr/local/sbin/execmond|' "$UNIT_TEMPLATE" \
    >"$root/usr/local/lib/systemd/system/execmond.service"
  ln -sf /usr/local/lib/systemd/system/execmond.service \
    "$root/etc/systemd/system/multi-user.target.wants/execmond.service"
}

scrape() { curl -fsS --max-time 10 "http://127.0.0.1:$PORT/metrics"; }

# The unexpected series whose file is the container's. The daemon in the container sees
# every process of the machine: on a shared machine, others' builds exec files that do
# not exist in this root, and others' debootstrap roots are file systems the container
# has no mount of (reason private_mount: never a file of the container's own).
container_flagged() {
  scrape | awk '/^execmond_unexpected_execs_total\{/ && !/reason="private_mount"/' |
    while read -r line; do
      local path
      path=$(sed -E 's/.*path="([^"]*)".*/\1/' <<<"$line")
      [[ -e $WORK/root$path ]] && printf '%s\n' "$line"
    done
  return 0
}

in_root() { in_container env DEBIAN_FRONTEND=noninteractive "$@"; }

dynamic_bookworm() {
  PACKAGES=("${BASE_PACKAGES[@]}")
  local lib pkg
  # The libraries execmond loads, from the host's packages (same release).
  while read -r lib; do
    pkg=$(dpkg-query -S "$(readlink -f "$lib")" 2>/dev/null | head -n1 | cut -d: -f1) ||
      pkg=$(dpkg-query -S "$lib" 2>/dev/null | head -n1 | cut -d: -f1) || true
    [[ -n $pkg ]] && PACKAGES+=("$pkg")
  done < <(ldd "$BUILD/daemon/execmond" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }')
  local packages
  mapfile -t packages < <(printf '%s\n' "${PACKAGES[@]}" | sort -u)
  ensure_rootfs "${packages[@]}"
  WORK=$(mktemp -d /var/tmp/execmond-content-roots.XXXXXX)
  trap teardown EXIT
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  prepare_root
  install_execmond
  boot_with_network
  local i
  for ((i = 0; i < 100; i++)); do
    scrape 2>/dev/null | grep -q '^execmond_package_database_files [1-9]' && break
    sleep 0.2
  done
  scrape | grep -q '^execmond_package_database_files [1-9]' ||
    fail "execmond in the container did not load the package database: $(in_container journalctl --no-pager -u execmond -n 400 | grep -E 'binaries:|package' | head -n 5)"
  log "boot: $(container_flagged | wc -l) unexpected series so far"
  local step
  for step in "apt-get -q update" \
    "apt-get -y -q install --no-install-recommends cron logrotate man-db unattended-upgrades" \
    "apt-get -y -q upgrade" "apt-get -y -q install --reinstall coreutils bash" \
    "run-parts --report /etc/cron.daily" \
    "systemctl start apt-daily.service apt-daily-upgrade.service logrotate.service man-db.service"; do
    log "in the container: $step"
    # shellcheck disable=SC2086 # one command, split into words
    in_root timeout 900 $step >"$WORK/step.log" 2>&1 || fail "$step failed: $(tail -n 5 "$WORK/step.log")"
  done
  # Held verdicts are decided once dpkg is done; digests come within seconds.
  for ((i = 0; i < 150; i++)); do
    scrape | grep -qE '^execmond_content_verdicts_waiting\{for="(hash|package_manager)"\} [1-9]' || break
    sleep 0.2
  done
  local metrics flagged
  metrics=$(scrape)
  flagged=$(container_flagged)
  printf 'MEASURE: Debian 12 booted, apt-get install/upgrade/--reinstall, cron.daily and the apt, logrotate and man-db services, with the shipped configuration:\n'
  grep -E '^execmond_(content_hashes_total|content_hash_unknown_total|content_verdicts_held_total|package_database_files|package_database_loads_total|execs_total\{comm="dpkg"\})' <<<"$metrics" | sed 's/^/  /'
  printf '  unexpected series of the container: %d\n' "$(grep -c . <<<"$flagged" || true)"
  if [[ -n $flagged ]]; then
    printf 'FLAGGED in the booted Debian 12 root:\n%s\n' "$flagged"
    FLAGGED=$((FLAGGED + $(wc -l <<<"$flagged")))
  fi
}

main() {
  (($# == 1)) || die "usage: $0 BUILD_DIR"
  BUILD=$(readlink -f "$1")
  [[ -x $BUILD/daemon/execmond && -x $BUILD/tests/benchmark/content_audit ]] ||
    die "$BUILD: build daemon/execmond and tests/benchmark/content_audit first"
  ((EUID == 0)) || die "must run as root"
  need_tools
  audit_root "$ROOTS/bookworm-$(dpkg --print-architecture)/base" "Debian 12 (debootstrap base)"
  audit_root "$ROOTS/trixie-$(dpkg --print-architecture)/base" "Debian 13 (debootstrap base)"
  dynamic_bookworm
  printf '%s: %d flagged\n' "$TEST_NAME" "$FLAGGED"
  ((FLAGGED == 0))
}

main "$@"

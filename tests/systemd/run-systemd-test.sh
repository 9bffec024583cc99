#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boots a container of the host's Debian release (12 or 13: the binary and the packages
# of its libraries come from the host) under a real systemd with execmond installed and enabled
# the way a package installs it, and proves what the unit promises:
#   - the service reaches active (running), which for Type=notify means READY=1 was sent
#     after the BPF programs were attached and /metrics was bound;
#   - the hardening in packaging/systemd/execmond.service.in really applies (only CAP_BPF
#     and CAP_PERFMON, no_new_privs, seccomp, read-only /) and still lets it load and
#     attach every BPF program;
#   - /metrics answers and counts, exactly, execs, failed execs and non-zero exits of
#     processes run inside the container;
#   - killed with SIGKILL, it is restarted (Restart=on-failure);
#   - `systemctl stop` ends it cleanly (inactive, Result=success, exit status 0);
#   - the bound on parsing YAML (a child process) works in the sandbox: a reload whose
#     parse runs away is refused within its CPU and memory budgets;
#   - no execmond BPF program is left in the kernel afterwards.
#
# Usage: run-systemd-test.sh BINARY
#   As root, on a Debian host whose kernel has BTF (installs debootstrap, systemd-container
#   and bpftool if they are missing). About 15 s with the rootfs cached; the first run
#   builds it with debootstrap from the host's Debian mirror, about a minute more. Ends
#   with "systemd-test: N passed, M failed"; exit 0 only if every check passed, 1 if one
#   failed, 2 if the test could not run. The container is torn down in every case.
# Environment:
#   EXECMOND_ROOTS_CACHE    where packaging/debian-root.sh keeps its roots (default
#                           /var/cache/execmond-test/roots): this test's is the release's
#                           "base" set plus the packages of the binary's libraries; never
#                           modified by a test run, rebuilt when that package set changes
#   EXECMOND_DEBIAN_MIRROR  mirror for debootstrap (default: the host's APT Debian source)
#   EXECMOND_TEST_KEEP=1    keep the run's work directory (console log, overlay) on exit
set -Eeuo pipefail

# The host's release: the root gets the packages that hold the host binary's libraries.
SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
readonly SUITE
SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly SOURCE_DIR
readonly UNIT_TEMPLATE="$SOURCE_DIR/packaging/systemd/execmond.service.in"
readonly CONFIG_FILE="$SOURCE_DIR/config/execmond.yaml"
# What `bpftool prog show` calls execmond's programs.
readonly PROGRAM_NAME_PATTERN='^handle_(exec|exit)'
# `comm` of the probe processes: unique per run, at most 15 characters.
PROBE_COMM="xmprobe_$(printf '%06x' $(((RANDOM << 9 ^ RANDOM) & 0xffffff)))"
readonly PROBE_COMM
readonly PROBE_RUNS=3
# The probe execs a file that does not exist: a failed exec (ENOENT), after which the
# shell exits 127.
readonly PROBE_EXIT_CODE=127
readonly MACHINE="execmond-test-$$"
readonly TEST_NAME=systemd-test
# shellcheck source=tests/systemd/lib.sh
source "$SOURCE_DIR/tests/systemd/lib.sh"

# The Debian packages that hold the shared libraries BINARY loads, into PACKAGES. A
# library no package owns (built by hand into /usr/local/lib) goes into LOCAL_LIBRARIES,
# to be copied into the rootfs.
PACKAGES=()
LOCAL_LIBRARIES=()
find_runtime_packages() {
  local binary=$1 line path real pkg candidate libs
  local -A seen=()
  libs=$(ldd "$binary") || die "ldd $binary failed: is it a dynamically linked executable?"
  while read -r line; do
    [[ $line == *"not found"* ]] && die "$binary: a library is missing on this host: $line"
    path=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) { print $i; exit } }' <<<"$line")
    [[ -n $path ]] || continue
    real=$(readlink -f "$path")
    pkg=""
    # dpkg knows a file by the path its package ships, with or without the /usr merge.
    for candidate in "$path" "$real" "/usr$path" "/usr$real" "${path#/usr}" "${real#/usr}"; do
      pkg=$(dpkg-query -S "$candidate" 2>/dev/null | head -n1 | cut -d: -f1) || true
      [[ -n $pkg ]] && break
    done
    if [[ -z $pkg ]]; then
      LOCAL_LIBRARIES+=("$path")
    elif [[ -z ${seen[$pkg]:-} ]]; then
      seen[$pkg]=1
      PACKAGES+=("$pkg")
    fi
  done <<<"$libs"
}


# Installs execmond as `cmake --install` does (binary in /usr/local/sbin, config in
# /etc/execmond, unit in /usr/local/lib/systemd/system), then enables the unit. With
# EXECMOND_BUILD_DIR (ctest sets it) it runs `cmake --install` itself, so that the test
# also proves the install puts each file where the unit expects it.
install_execmond() {
  local binary=$1 root=$WORK/root lib file
  if [[ -n "${EXECMOND_BUILD_DIR:-}" ]]; then
    DESTDIR="$root" cmake --install "$EXECMOND_BUILD_DIR" >/dev/null ||
      fail "cmake --install $EXECMOND_BUILD_DIR failed"
    for file in /usr/local/sbin/execmond /etc/execmond/execmond.yaml \
      /usr/local/lib/systemd/system/execmond.service; do
      [[ -f "$root$file" ]] || fail "cmake --install did not put $file where the unit expects it"
    done
    grep -qx 'ExecStart=/usr/local/sbin/execmond --config /etc/execmond/execmond.yaml' \
      "$root/usr/local/lib/systemd/system/execmond.service" ||
      fail "the installed unit's ExecStart= does not name the installed binary"
  else
    install -D -m 0755 "$binary" "$root/usr/local/sbin/execmond"
    install -D -m 0644 "$CONFIG_FILE" "$root/etc/execmond/execmond.yaml"
    mkdir -p "$root/usr/local/lib/systemd/system"
    sed 's|@EXECMOND_BINARY@|/usr/local/sbin/execmond|' "$UNIT_TEMPLATE" \
      >"$root/usr/local/lib/systemd/system/execmond.service"
  fi
  # The shipped file, with the line the README tells an administrator to add for what
  # they install in /usr/local/bin (the shipped list leaves /usr/local out).
  sed -i 's|^  allow:$|  allow:\n    - "/usr/local/bin/*"|' "$root/etc/execmond/execmond.yaml"
  grep -qx '    - "/usr/local/bin/\*"' "$root/etc/execmond/execmond.yaml" ||
    fail "could not add /usr/local/bin/* to the allow-list of /etc/execmond/execmond.yaml"
  for lib in "${LOCAL_LIBRARIES[@]}"; do
    install -D -m 0644 "$(readlink -f "$lib")" "$root/usr/local/lib/$(basename "$lib")"
  done
  if ((${#LOCAL_LIBRARIES[@]})); then chroot "$root" ldconfig; fi
  # `systemctl enable` as a package's postinst would run it: the WantedBy= symlink.
  if command -v systemctl >/dev/null; then
    systemctl --root="$root" --quiet enable execmond.service
  else
    mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
    ln -sf /usr/local/lib/systemd/system/execmond.service \
      "$root/etc/systemd/system/multi-user.target.wants/execmond.service"
  fi
  [[ -L "$root/etc/systemd/system/multi-user.target.wants/execmond.service" ]] ||
    fail "enabling execmond.service made no multi-user.target.wants symlink"
  # The probe: a script, so its comm is its own name. One exec, one failed exec, one
  # non-zero exit per run, all under that name.
  printf '#!/bin/sh\nexec /nonexistent/execmond-test-target\n' >"$root/usr/local/bin/$PROBE_COMM"
  chmod 0755 "$root/usr/local/bin/$PROBE_COMM"
  # The same script where the shipped allow-list does not reach: an unexpected binary.
  install -m 0755 "$root/usr/local/bin/$PROBE_COMM" "$root/opt/$PROBE_COMM"
}


# --- Checks ----------------------------------------------------------------------------

check_service_running() {
  local props
  props=$(in_container timeout 10 systemctl show execmond \
    -p ActiveState,SubState,Type,MainPID,NRestarts,UnitFileState)
  grep -qx 'UnitFileState=enabled' <<<"$props" || fail "execmond.service is not enabled: $props"
  grep -qx 'ActiveState=active' <<<"$props" || fail "execmond.service is not active (running): $(tr '\n' ' ' <<<"$props")"
  grep -qx 'SubState=running' <<<"$props" ||
    fail "execmond.service is not active (running): $(tr '\n' ' ' <<<"$props")"
  grep -qx 'NRestarts=0' <<<"$props" || fail "execmond restarted before the test: $props"
  pass "execmond.service is enabled and active (running): READY=1 arrived"
  find_execmond
  EXECMOND_PROGRAMS=$(programs_of "$EXECMOND_HOST_PID")
  awk -v p="$PROGRAM_NAME_PATTERN" '$2 ~ p { found = 1 } END { exit !found }' <<<"$EXECMOND_PROGRAMS" ||
    fail "execmond holds no BPF program named handle_exec*/handle_exit*: '$EXECMOND_PROGRAMS'"
  log "execmond's programs: $(tr '\n' ' ' <<<"$EXECMOND_PROGRAMS")"
}

# True if the last mount on PATH in a mountinfo file is read-only.
mount_read_only() {
  awk -v p="$1" '$5 == p { ro = 0; n = split($6, o, ","); for (i = 1; i <= n; i++) if (o[i] == "ro") ro = 1 }
    END { exit !ro }' "$2"
}

# The unit's hardening, read from the kernel's view of the running process.
check_hardening() {
  local status=/proc/$EXECMOND_HOST_PID/status caps
  caps=$(awk '/^CapEff:/ { print $2 }' "$status")
  # Bits 38 (CAP_PERFMON) and 39 (CAP_BPF) to count; 19 (CAP_SYS_PTRACE) and 2
  # (CAP_DAC_READ_SEARCH) to read what the binaries section judges. Nothing else.
  [[ $caps == 000000c000080004 ]] || fail "execmond's effective capabilities are $caps, expected CAP_BPF+CAP_PERFMON+CAP_SYS_PTRACE+CAP_DAC_READ_SEARCH (000000c000080004)"
  [[ "$(awk '/^CapBnd:/ { print $2 }' "$status")" == 000000c000080004 ]] ||
    fail "execmond's capability bounding set is not CAP_BPF+CAP_PERFMON+CAP_SYS_PTRACE+CAP_DAC_READ_SEARCH"
  grep -q '^NoNewPrivs:[[:space:]]*1' "$status" || fail "execmond runs without no_new_privs"
  grep -q '^Seccomp:[[:space:]]*2' "$status" || fail "execmond runs without a seccomp filter"
  # ProtectSystem=strict: its own mount namespace, where / is read-only.
  local mountinfo=/proc/$EXECMOND_HOST_PID/mountinfo path
  mount_read_only / "$mountinfo" || fail "execmond's / is writable: ProtectSystem= did not apply"
  mount_read_only /sys "$mountinfo" || fail "execmond's /sys is writable"
  # ProtectProc=invisible and ProcSubset=pid: a /proc of its own, without /proc/sys.
  awk '$5 == "/proc" { proc = $0 } END { exit !(proc ~ /hidepid=invisible/ && proc ~ /subset=pid/) }' \
    "$mountinfo" || fail "execmond's /proc is not hidepid=invisible,subset=pid"
  # PrivateTmp, PrivateDevices, ProtectHome, InaccessiblePaths: each a mount of its own.
  for path in /tmp /dev /home /root /etc/shadow; do
    awk -v p="$path" '$5 == p { found = 1 } END { exit !found }' "$mountinfo" ||
      fail "execmond's namespace has no mount on $path: the unit's sandboxing did not apply"
  done
  pass "execmond runs with only CAP_BPF+CAP_PERFMON+CAP_SYS_PTRACE+CAP_DAC_READ_SEARCH, no_new_privs, seccomp, read-only / and /sys, a pid-only /proc, private /tmp and /dev, no /home, /root or /etc/shadow"
  # For the log: systemd's own rating of the sandbox.
  log "$(in_container timeout 20 systemd-analyze security execmond 2>/dev/null | tail -n1 || true)"
}

check_metrics_count() {
  local body="" i rc
  for ((i = 0; i < 50; i++)); do
    body=$(in_container curl -fsS --max-time 5 "$METRICS_URL" 2>/dev/null) && break
    sleep 0.2
  done
  [[ -n $body ]] || fail "GET $METRICS_URL (inside the container) failed"
  grep -q '^execmond_build_info{' <<<"$body" || fail "/metrics has no execmond_build_info"
  grep -q '^execmond_events_lost_total{record="exec"} ' <<<"$body" ||
    fail "/metrics has no execmond_events_lost_total{record=\"exec\"}"
  pass "/metrics answers at $METRICS_URL with execmond's metrics"
  for ((i = 0; i < PROBE_RUNS; i++)); do
    rc=0
    in_container "/usr/local/bin/$PROBE_COMM" 2>/dev/null || rc=$?
    ((rc == PROBE_EXIT_CODE)) || fail "the probe $PROBE_COMM exited $rc, expected $PROBE_EXIT_CODE"
  done
  wait_for_metric "execmond_execs_total{comm=\"$PROBE_COMM\"}" "$PROBE_RUNS"
  wait_for_metric "execmond_exits_total{comm=\"$PROBE_COMM\"}" "$PROBE_RUNS"
  wait_for_metric "execmond_exits_nonzero_total{comm=\"$PROBE_COMM\"}" "$PROBE_RUNS"
  wait_for_metric "execmond_exec_failures_total{comm=\"$PROBE_COMM\",errno=\"ENOENT\"}" "$PROBE_RUNS"
  wait_for_metric 'execmond_events_lost_total{record="exec"}' 0
  wait_for_metric 'execmond_events_lost_total{record="exit"}' 0
  pass "$PROBE_RUNS execs, failed execs (ENOENT) and non-zero exits of $PROBE_COMM in the container are counted exactly"
}

# ExecReload=: `systemctl reload` re-reads the configuration in the same process, and no
# counter goes back to zero.
check_reload() {
  local pid_before pid_after props
  pid_before=$(in_container timeout 10 systemctl show -p MainPID --value execmond)
  in_container timeout 20 systemctl reload execmond || fail "systemctl reload execmond failed"
  wait_for_metric 'execmond_config_last_reload_successful' 1
  props=$(in_container timeout 10 systemctl show execmond -p ActiveState,SubState,MainPID)
  pid_after=$(awk -F= '$1 == "MainPID" { print $2 }' <<<"$props")
  [[ $pid_after == "$pid_before" ]] || fail "systemctl reload replaced the process ($pid_before -> $pid_after)"
  grep -qx 'SubState=running' <<<"$props" || fail "execmond is not running after a reload: $props"
  in_container timeout 10 journalctl -u execmond --no-pager -o cat 2>/dev/null |
    grep -q 'SIGHUP received: reloading the configuration' ||
    fail "the journal does not show the reload"
  wait_for_metric "execmond_execs_total{comm=\"$PROBE_COMM\"}" "$PROBE_RUNS"
  pass "systemctl reload: same process, configuration re-read, counters kept"
}

# execmond_unexpected_execs_total of one path and name, summed over its reasons (a script
# in a rootful container is not_allowed where the unit may look into the process, else
# unverified); empty when there is none.
unexpected_execs() {
  local path=$1 comm=$2 body
  body=$(in_container curl -fsS --max-time 5 "$METRICS_URL" 2>/dev/null) || return 0
  awk -v want="execmond_unexpected_execs_total{comm=\"$comm\",path=\"$path\",reason=" '
    index($1, want) == 1 { sum += $2; found = 1 }
    END { if (found) print sum }' <<<"$body"
}

# The shipped allow-list and /usr/local/bin/*: the probe in /usr/local/bin is expected,
# its copy in /opt is not; the unexpected exec is logged to the journal with fields of
# its own.
check_unexpected_binary() {
  local rc=0 entry value=""
  in_container "/opt/$PROBE_COMM" 2>/dev/null || rc=$?
  ((rc == PROBE_EXIT_CODE)) || fail "/opt/$PROBE_COMM exited $rc, expected $PROBE_EXIT_CODE"
  for ((rc = 0; rc < 50; rc++)); do
    value=$(unexpected_execs "/opt/$PROBE_COMM" "$PROBE_COMM")
    [[ $value == 1 ]] && break
    sleep 0.2
  done
  [[ $value == 1 ]] || fail "/opt/$PROBE_COMM: ${value:-no} unexpected execs, expected 1"
  [[ -z $(unexpected_execs "/usr/local/bin/$PROBE_COMM" "$PROBE_COMM") ]] ||
    fail "/usr/local/bin/$PROBE_COMM, on the allow-list, was counted as unexpected"
  pass "a script outside the allow-list is counted by its path, one inside it is not"
  for ((rc = 0; rc < 75; rc++)); do
    entry=$(in_container timeout 10 journalctl --no-pager -o verbose \
      EXECMOND_EVENT=unexpected_exec "EXECMOND_PATH=/opt/$PROBE_COMM" 2>/dev/null) || true
    [[ $entry == *"EXECMOND_INTERPRETER=/usr/bin/dash"* ]] && break
    sleep 0.2
  done
  [[ $entry == *"EXECMOND_INTERPRETER=/usr/bin/dash"* && $entry == *"EXECMOND_COMM=$PROBE_COMM"* ]] ||
    fail "no journal entry EXECMOND_PATH=/opt/$PROBE_COMM with its interpreter: ${entry:0:600}"
  pass "the unexpected exec is in the journal with EXECMOND_PATH, EXECMOND_COMM and EXECMOND_INTERPRETER"
}

# Restart=on-failure: a daemon killed outright comes back, and the kernel frees the
# programs of the dead one (nothing stays attached even without a clean exit).
check_restart_after_crash() {
  local old_pid=$EXECMOND_HOST_PID old_programs=$EXECMOND_PROGRAMS props="" i
  # From the host, as the OOM killer would: no chance to detach anything.
  kill -KILL "$old_pid" || fail "cannot kill execmond (host pid $old_pid)"
  # RestartSec=5s, then the start itself.
  for ((i = 0; i < 100; i++)); do
    props=$(in_container timeout 10 systemctl show execmond -p SubState,NRestarts | sort | tr '\n' ' ')
    [[ $props == "NRestarts=1 SubState=running " ]] && break
    sleep 0.2
  done
  [[ $props == "NRestarts=1 SubState=running " ]] ||
    fail "execmond was not restarted after SIGKILL: $props"
  wait_programs_freed "$old_programs"
  find_execmond
  [[ $EXECMOND_HOST_PID != "$old_pid" ]] || fail "execmond has the same pid after its restart"
  EXECMOND_PROGRAMS=$(programs_of "$EXECMOND_HOST_PID")
  [[ -n $EXECMOND_PROGRAMS ]] || fail "the restarted execmond holds no BPF program"
  pass "killed with SIGKILL, execmond was restarted (Restart=on-failure) and its old programs freed"
}

check_clean_stop() {
  in_container timeout 40 systemctl stop execmond || fail "systemctl stop execmond failed"
  local props expected
  props=$(in_container timeout 10 systemctl show execmond \
    -p ActiveState,Result,ExecMainCode,ExecMainStatus)
  # ExecMainCode=1 is CLD_EXITED: it exited by itself, not killed by a signal.
  for expected in ActiveState=inactive Result=success ExecMainCode=1 ExecMainStatus=0; do
    grep -qx "$expected" <<<"$props" ||
      fail "execmond did not stop cleanly: $(tr '\n' ' ' <<<"$props")(expected $expected)"
  done
  pass "systemctl stop: inactive, Result=success, exited with status 0"
  wait_programs_freed "$EXECMOND_PROGRAMS"
  pass "no execmond BPF program is left in the kernel after the stop"
}

# labels: [comm, unit], from a config a drop-in points the unit at: a process started
# with `systemd-run --unit=churn-test` counts under unit="churn-test.service", as the
# container's systemd names it (the daemon reads the hierarchy through its cgroup
# namespace). Self-contained: starts execmond with the drop-in, stops it and removes it.
check_unit_label() {
  local root=$WORK/root dropin=/etc/systemd/system/execmond.service.d/labels.conf
  { grep -v '^labels:' "$root/etc/execmond/execmond.yaml"; echo 'labels: [comm, unit]'; } \
    >"$root/etc/execmond/units.yaml"
  mkdir -p "$root${dropin%/*}"
  printf '[Service]\nExecStart=\nExecStart=%s\n' \
    '/usr/local/sbin/execmond --config /etc/execmond/units.yaml' >"$root$dropin"
  in_container timeout 20 systemctl daemon-reload || fail "systemctl daemon-reload failed"
  in_container timeout 40 systemctl start execmond ||
    fail "execmond did not start with labels: [comm, unit]"
  # A unit gone within milliseconds, long before the daemon drains the ring buffer: its
  # cgroup resolves because the daemon saw it made (inotify).
  in_container timeout 20 systemd-run --unit=churn-test --wait --collect --quiet \
    /bin/sh -c "for i in \$(seq $PROBE_RUNS); do /usr/local/bin/$PROBE_COMM; done; true" \
    >/dev/null 2>&1 || fail "systemd-run --unit=churn-test failed"
  wait_for_metric "execmond_execs_total{comm=\"$PROBE_COMM\",unit=\"churn-test.service\"}" \
    "$PROBE_RUNS"
  wait_for_metric "execmond_exits_nonzero_total{comm=\"$PROBE_COMM\",unit=\"churn-test.service\"}" \
    "$PROBE_RUNS"
  pass "with labels: [comm, unit], systemd-run --unit=churn-test counts under unit=\"churn-test.service\""
  find_execmond
  EXECMOND_PROGRAMS=$(programs_of "$EXECMOND_HOST_PID")
  in_container timeout 40 systemctl stop execmond || fail "systemctl stop execmond failed"
  rm -f "$root$dropin" "$root/etc/execmond/units.yaml"
  in_container timeout 20 systemctl daemon-reload || fail "systemctl daemon-reload failed"
  wait_programs_freed "$EXECMOND_PROGRAMS"
}

# The bound on parsing YAML (daemon/config/parse_bound.h) under the unit's sandbox
# (seccomp @system-service minus @privileged, NoNewPrivileges, MemoryDenyWriteExecute,
# only CAP_BPF + CAP_PERFMON): every start already parses its file first in a child of
# /proc/self/exe; here the test knob makes that child's parse run away, by CPU and by
# memory, and `systemctl reload` with such a file is refused within the budget and changes
# nothing. Self-contained: starts execmond with a drop-in, stops it and removes it.
check_parse_bound() {
  local root=$WORK/root dropin=/etc/systemd/system/execmond.service.d/parser-fault.conf
  local fault size expected pid_before pid_after journal i
  local -A refusal
  mkdir -p "$root${dropin%/*}"
  for fault in spin allocate; do
    cp "$root/etc/execmond/execmond.yaml" "$root/etc/execmond/bound.yaml"
    printf '[Service]\nEnvironment=EXECMOND_INJECT_PARSER_FAULT=%s\nExecStart=\nExecStart=%s\n' \
      "$fault" '/usr/local/sbin/execmond --config /etc/execmond/bound.yaml' >"$root$dropin"
    in_container timeout 20 systemctl daemon-reload || fail "systemctl daemon-reload failed"
    in_container timeout 40 systemctl start execmond ||
      fail "execmond did not start with EXECMOND_INJECT_PARSER_FAULT=$fault and a sound file"
    pid_before=$(in_container timeout 10 systemctl show -p MainPID --value execmond)
    printf '\n# inject-parser-fault\n' >>"$root/etc/execmond/bound.yaml"
    # The budgets of daemon/config/parse_bound.cpp for a file of this size.
    size=$(stat -c %s "$root/etc/execmond/bound.yaml")
    refusal=(
      [spin]="refused: parsing it did not finish within $((250 + 2 * (size >> 10))) ms of CPU time"
      [allocate]="refused: parsing it needed more than $((((64 << 20) + 256 * size) >> 20)) MiB of memory"
    )
    expected="/etc/execmond/bound.yaml: ${refusal[$fault]}"
    in_container timeout 20 systemctl reload execmond || fail "systemctl reload execmond failed"
    for ((i = 0; i < 100; i++)); do
      journal=$(in_container timeout 10 journalctl -u execmond --no-pager -o cat 2>/dev/null) || true
      [[ $journal == *"reload failed, still running on the previous configuration: $expected"* ]] &&
        break
      sleep 0.2
    done
    [[ $journal == *"reload failed, still running on the previous configuration: $expected"* ]] ||
      fail "no refusal \"$expected\" in the journal: $(tail -n 5 <<<"$journal")"
    wait_for_metric 'execmond_config_last_reload_successful' 0
    pid_after=$(in_container timeout 10 systemctl show -p MainPID --value execmond)
    [[ $pid_after == "$pid_before" ]] || fail "the refused reload replaced the process"
    pass "under the sandbox, a reload whose parse runs away ($fault) is refused: ${refusal[$fault]}"
    find_execmond
    EXECMOND_PROGRAMS=$(programs_of "$EXECMOND_HOST_PID")
    in_container timeout 40 systemctl stop execmond || fail "systemctl stop execmond failed"
    wait_programs_freed "$EXECMOND_PROGRAMS"
  done
  rm -f "$root$dropin" "$root/etc/execmond/bound.yaml"
  in_container timeout 20 systemctl daemon-reload || fail "systemctl daemon-reload failed"
}

main() {
  (($# == 1)) || die "usage: $0 BINARY"
  local binary
  binary=$(readlink -f "$1") || die "$1: no such file"
  [[ -x $binary && -f $binary ]] || die "$1: not an executable file"
  ((EUID == 0)) || die "must run as root (debootstrap, systemd-nspawn, bpftool)"
  [[ -f $CONFIG_FILE ]] || die "$CONFIG_FILE: missing"
  [[ -f $UNIT_TEMPLATE ]] || die "$UNIT_TEMPLATE: missing"
  case $SUITE in
    bullseye | bookworm | trixie) ;;
    *) die "the host is not Debian 11, 12 or 13 (VERSION_CODENAME '$SUITE' in /etc/os-release)" ;;
  esac
  need_tools

  PACKAGES=()
  find_runtime_packages "$binary"
  local packages
  mapfile -t packages < <(printf '%s\n' "${PACKAGES[@]}" | sort -u)
  ensure_rootfs "${packages[@]}"

  WORK=$(mktemp -d /var/tmp/execmond-systemd-test.XXXXXX)
  trap teardown EXIT
  # set -e stops at any unchecked failure: say where, rather than end in silence.
  trap 'printf "run-systemd-test: unexpected failure at line %s: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR
  trap 'exit 130' INT TERM
  METRICS_URL=$(metrics_url)
  prepare_root
  install_execmond "$binary"
  boot_container
  check_service_running
  check_hardening
  check_metrics_count
  check_reload
  check_unexpected_binary
  check_restart_after_crash
  check_clean_stop
  check_unit_label
  check_parse_bound
  printf 'systemd-test: %d passed, 0 failed\n' "$PASSED"
}

main "$@"

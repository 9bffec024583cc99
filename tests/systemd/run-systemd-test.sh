#!/usr/bin/env bash
# Boots a Debian 12 container under a real systemd with execmond installed and enabled
# the way a package installs it, and proves what the unit promises:
#   - the service reaches active (running), which for Type=notify means READY=1 was sent
#     after the BPF programs were attached and /metrics was bound;
#   - the hardening in packaging/systemd/execmond.service really applies (only CAP_BPF
#     and CAP_PERFMON, no_new_privs, seccomp, read-only /) and still lets it load and
#     attach every BPF program;
#   - /metrics answers and counts, exactly, execs, failed execs and non-zero exits of
#     processes run inside the container;
#   - killed with SIGKILL, it is restarted (Restart=on-failure);
#   - `systemctl stop` ends it cleanly (inactive, Result=success, exit status 0);
#   - no execmond BPF program is left in the kernel afterwards.
#
# Usage: run-systemd-test.sh BINARY
#   As root, on a Debian host whose kernel has BTF (installs debootstrap, systemd-container
#   and bpftool if they are missing). About 15 s with the rootfs cached; the first run
#   builds it with debootstrap from the host's Debian mirror, about a minute more. Ends
#   with "systemd-test: N passed, M failed"; exit 0 only if every check passed, 1 if one
#   failed, 2 if the test could not run. The container is torn down in every case.
# Environment:
#   EXECMOND_ROOTFS_CACHE   where the Debian rootfs is kept between runs
#                           (default /var/cache/execmond-test/rootfs); never modified by a
#                           test run, rebuilt when the binary needs a package it lacks
#   EXECMOND_DEBIAN_MIRROR  mirror for debootstrap (default: the host's APT bookworm source)
#   EXECMOND_TEST_KEEP=1    keep the run's work directory (console log, overlay) on exit
set -Eeuo pipefail

readonly SUITE=bookworm
# Always in the rootfs: an init, a bus for systemctl, curl to scrape /metrics.
readonly BASE_PACKAGES=(systemd systemd-sysv dbus curl)
SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly SOURCE_DIR
readonly UNIT_FILE="$SOURCE_DIR/packaging/systemd/execmond.service"
readonly CONFIG_FILE="$SOURCE_DIR/config/execmond.yaml"
readonly CACHE="${EXECMOND_ROOTFS_CACHE:-/var/cache/execmond-test/rootfs}"
readonly STAMP_NAME=.execmond-test-rootfs   # inside the rootfs: the packages it holds
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

PASSED=0
WORK=""
NSPAWN_PID=""
LEADER_PID=""
LEADER_PIDNS=""
OVERLAY_MOUNTED=0

log() { printf '==> %s\n' "$*" >&2; }
pass() {
  PASSED=$((PASSED + 1))
  printf 'PASS: %s\n' "$*"
}
# Fails the run: says what broke, shows what the container knows, tears down.
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  diagnostics
  printf 'systemd-test: %d passed, 1 failed\n' "$PASSED"
  exit 1
}
die() {
  printf 'run-systemd-test: %s\n' "$*" >&2
  exit 2
}

# --- Preconditions ---------------------------------------------------------------------

need_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
  command -v bpftool >/dev/null || missing+=(bpftool)
  command -v nsenter >/dev/null || missing+=(util-linux)
  command -v dpkg-query >/dev/null || die "needs a Debian host (dpkg-query not found)"
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 ||
      die "cannot install ${missing[*]}: run apt-get update, or install them yourself"
  fi
}

# The mirror the host's APT uses for Debian itself (not -security, not third parties).
debian_mirror() {
  if [[ -n "${EXECMOND_DEBIAN_MIRROR:-}" ]]; then
    echo "$EXECMOND_DEBIAN_MIRROR"
    return
  fi
  local mirror
  mirror=$(
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
      2>/dev/null | awk -v suite="$SUITE" '
      # One-line format: deb [options] URI SUITE COMPONENTS...
      $1 == "deb" { line = $0; gsub(/\[[^]]*\]/, "", line); split(line, f, /[[:space:]]+/)
                    if (f[3] == suite && f[2] !~ /security/) { print f[2]; exit } }
      # deb822 format: a stanza of Types/URIs/Suites lines, ended by a blank line.
      /^URIs:/   { uris = $2 }
      /^Suites:/ { for (j = 2; j <= NF; j++) if ($j == suite) hit = 1 }
      /^[[:space:]]*$/ { if (hit && uris !~ /security/) { print uris; exit } uris = ""; hit = 0 }
      END { if (hit && uris !~ /security/) print uris }' | head -n1
  )
  echo "${mirror:-http://deb.debian.org/debian}"
}

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

# --- The cached rootfs -----------------------------------------------------------------

# rm -rf that first unmounts whatever an interrupted debootstrap or container left
# mounted inside (proc, sys, an overlay), and never crosses into another file system.
remove_tree() {
  local dir=$1 target
  [[ -e $dir ]] || return 0
  dir=$(readlink -f "$dir")
  while read -r target; do
    umount --lazy "$target" 2>/dev/null || true
  done < <(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
  rm -rf --one-file-system "$dir"
}

# Reuses the cached rootfs if it holds every package in $@; otherwise builds a new one
# next to it and swaps it in, so an interrupted build never leaves a half rootfs cached.
ensure_rootfs() {
  local wanted=("$@") have pkg stale=0
  mkdir -p "$(dirname "$CACHE")"
  exec {lock_fd}>"$CACHE.lock"
  flock "$lock_fd"
  if [[ -f "$CACHE/$STAMP_NAME" ]]; then
    have=$(<"$CACHE/$STAMP_NAME")
    for pkg in "${wanted[@]}"; do
      grep -qxF "$pkg" <<<"$have" || stale=1
    done
    if ((!stale)); then
      log "using the cached rootfs $CACHE"
      exec {lock_fd}>&-
      return
    fi
    log "the cached rootfs lacks packages this binary needs: rebuilding it"
  fi
  local mirror new="$CACHE.new" include
  mirror=$(debian_mirror)
  log "building a Debian $SUITE rootfs in $CACHE from $mirror (once; takes a minute or two)"
  remove_tree "$new"
  include=$(IFS=,; echo "${wanted[*]}")
  # In the background so that an interrupted run stops it too, instead of leaving it
  # writing into the next run's tree.
  debootstrap --variant=minbase --include="$include" "$SUITE" "$new" "$mirror" \
    >"$new.log" 2>&1 &
  local debootstrap_pid=$! rc=0
  trap 'kill "$debootstrap_pid" 2>/dev/null; wait "$debootstrap_pid" || true; remove_tree "$new"; exit 130' INT TERM
  wait "$debootstrap_pid" || rc=$?
  trap - INT TERM
  if ((rc)); then
    tail -n 20 "$new.log" >&2
    die "debootstrap failed (exit $rc; full log: $new.log)"
  fi
  # A fresh machine id at each boot, a name to recognise in logs, no stale apt lists.
  : >"$new/etc/machine-id"
  echo execmond-test >"$new/etc/hostname"
  rm -rf "$new/var/lib/apt/lists/"* "$new/var/cache/apt/archives/"*.deb
  printf '%s\n' "${wanted[@]}" >"$new/$STAMP_NAME"
  remove_tree "$CACHE"
  rm -f "$new.log"
  mv "$new" "$CACHE"
  exec {lock_fd}>&-
}

# --- One run's container ---------------------------------------------------------------

# The run's root: an overlay on the cached rootfs (the cache stays pristine), or a copy
# where overlayfs is not available.
prepare_root() {
  mkdir -p "$WORK/upper" "$WORK/overlay-work" "$WORK/root"
  if mount -t overlay overlay \
    -o "lowerdir=$CACHE,upperdir=$WORK/upper,workdir=$WORK/overlay-work" "$WORK/root" 2>/dev/null; then
    OVERLAY_MOUNTED=1
  else
    log "overlayfs unavailable: copying the rootfs"
    cp -a "$CACHE/." "$WORK/root/"
  fi
}

# Installs execmond as `cmake --install` does (binary in /usr/local/bin, config in
# /etc/execmond, unit in /usr/local/lib/systemd/system), then enables the unit. With
# EXECMOND_BUILD_DIR (ctest sets it) it runs `cmake --install` itself, so that the test
# also proves the install puts each file where the unit expects it.
install_execmond() {
  local binary=$1 root=$WORK/root lib file
  if [[ -n "${EXECMOND_BUILD_DIR:-}" ]]; then
    DESTDIR="$root" cmake --install "$EXECMOND_BUILD_DIR" >/dev/null ||
      fail "cmake --install $EXECMOND_BUILD_DIR failed"
    for file in /usr/local/bin/execmond /etc/execmond/execmond.yaml \
      /usr/local/lib/systemd/system/execmond.service; do
      [[ -f "$root$file" ]] || fail "cmake --install did not put $file where the unit expects it"
    done
  else
    install -D -m 0755 "$binary" "$root/usr/local/bin/execmond"
    install -D -m 0644 "$CONFIG_FILE" "$root/etc/execmond/execmond.yaml"
    install -D -m 0644 "$UNIT_FILE" "$root/usr/local/lib/systemd/system/execmond.service"
  fi
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

boot_container() {
  local args=(
    --directory="$WORK/root" --machine="$MACHINE" --boot --console=read-only
    # Own network namespace: /metrics on 9717 clashes with nothing on the host, and is
    # scraped from inside the container.
    --private-network
    # BPF from inside: CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN, and bpf(2)/perf_event_open(2),
    # which nspawn's own seccomp filter blocks by default.
    --capability=all --system-call-filter='bpf perf_event_open'
  )
  # With no systemd on the host (CI images, containers) there is no machined to
  # register with and no manager to create a scope: stay in this process's cgroup.
  if [[ ! -d /run/systemd/system ]]; then args+=(--register=no --keep-unit); fi
  log "booting the container ($WORK/console.log)"
  systemd-nspawn "${args[@]}" </dev/null >"$WORK/console.log" 2>&1 &
  NSPAWN_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    find_leader && break
    kill -0 "$NSPAWN_PID" 2>/dev/null || fail "systemd-nspawn exited while starting the container"
    sleep 0.1
  done
  [[ -n $LEADER_PID ]] || fail "no systemd in the container after 10 s"
  # Until the manager answers (its socket appears a moment after PID 1 starts) and
  # the boot transaction is done.
  local state=""
  for ((i = 0; i < 600; i++)); do
    state=$(in_container timeout 5 systemctl is-system-running 2>/dev/null) || true
    case $state in
      running | degraded)
        pass "the container booted (system state: $state)"
        return
        ;;
      maintenance | stopping | offline) break ;;
    esac
    kill -0 "$NSPAWN_PID" 2>/dev/null || fail "the container stopped while booting"
    sleep 0.2
  done
  fail "the container did not finish booting (system state: '${state:-no answer}')"
}

# The container's PID 1 (systemd), a child of systemd-nspawn, into LEADER_PID.
find_leader() {
  local pid
  pid=$(ps -o pid= --ppid "$NSPAWN_PID" 2>/dev/null | head -n1 | tr -d ' ') || true
  [[ -n $pid && "$(cat "/proc/$pid/comm" 2>/dev/null)" == systemd ]] || return 1
  LEADER_PID=$pid
  LEADER_PIDNS=$(readlink "/proc/$pid/ns/pid")
}

# True while the container's PID 1 lives (and its pid has not been reused).
leader_alive() {
  [[ -n $LEADER_PID && -n $LEADER_PIDNS && "$(readlink "/proc/$LEADER_PID/ns/pid" 2>/dev/null)" == "$LEADER_PIDNS" ]]
}

# Runs a command inside the container: its namespaces, root and a clean environment.
in_container() {
  nsenter --target "$LEADER_PID" --mount --uts --ipc --net --pid --cgroup -- \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

# Prints the container's view of execmond when something failed.
diagnostics() {
  if [[ -n $WORK && -f $WORK/console.log ]]; then
    echo "--- container console (last 30 lines)" >&2
    tail -n 30 "$WORK/console.log" >&2
  fi
  if [[ -z $LEADER_PID ]] || ! kill -0 "$LEADER_PID" 2>/dev/null; then return 0; fi
  {
    echo "--- systemctl status execmond"
    in_container timeout 10 systemctl status --no-pager --full execmond || true
    echo "--- journalctl -u execmond"
    in_container timeout 10 journalctl --no-pager -u execmond -n 60 || true
    echo "--- failed units"
    in_container timeout 10 systemctl --failed --no-pager || true
  } >&2
}

teardown() {
  local rc=$?
  set +e
  trap - ERR
  if [[ -n $NSPAWN_PID ]]; then
    [[ -n $LEADER_PID ]] || find_leader
    # A clean shutdown first: on SIGTERM nspawn asks the container's systemd to halt.
    kill -TERM "$NSPAWN_PID" 2>/dev/null
    local i
    for ((i = 0; i < 300; i++)); do
      kill -0 "$NSPAWN_PID" 2>/dev/null || leader_alive || break
      sleep 0.1
    done
    # Killing the container's PID 1 kills every process in its PID namespace; killing
    # only nspawn would leave the container running, orphaned.
    if leader_alive; then
      log "the container did not power off in 30 s: killing it"
      kill -KILL "$LEADER_PID" 2>/dev/null
      for ((i = 0; i < 50; i++)); do
        leader_alive || break
        sleep 0.1
      done
    fi
    kill -KILL "$NSPAWN_PID" 2>/dev/null
    wait "$NSPAWN_PID" 2>/dev/null
  fi
  if ((OVERLAY_MOUNTED)); then
    umount "$WORK/root" 2>/dev/null || umount --lazy "$WORK/root"
  fi
  if [[ -n $WORK ]]; then
    if [[ ${EXECMOND_TEST_KEEP:-0} == 1 ]]; then
      log "kept $WORK"
    else
      remove_tree "$WORK"
    fi
  fi
  exit "$rc"
}

# --- Checks ----------------------------------------------------------------------------

# The value of one sample in the container's /metrics, or nothing. awk reads to the end:
# leaving early would fail curl on a body larger than the pipe holds (pipefail).
metric() {
  local selector=$1
  in_container curl -fsS --max-time 5 "$METRICS_URL" 2>/dev/null |
    awk -v want="$selector" '$1 == want && !found { value = $2; found = 1 } END { if (found) print value }'
}

# Polls until the sample equals the expected value (counts arrive within the daemon's
# poll interval, 200 ms by default).
wait_for_metric() {
  local selector=$1 expected=$2 value="" i
  for ((i = 0; i < 50; i++)); do
    value=$(metric "$selector")
    [[ -n $value ]] && awk -v a="$value" -v b="$expected" 'BEGIN { exit !(a + 0 == b + 0) }' &&
      return 0
    sleep 0.2
  done
  fail "$selector is '${value:-absent}', expected $expected"
}

# The URL of /metrics from inside the container, from the listen key of the config.
metrics_url() {
  local listen
  listen=$(awk '$1 == "listen:" { gsub(/["'\'']/, "", $2); print $2; exit }' "$CONFIG_FILE")
  listen=${listen:-0.0.0.0:9717}
  local host=${listen%:*} port=${listen##*:}
  case $host in
    0.0.0.0 | "" | "*") host=127.0.0.1 ;;
    "[::]") host="[::1]" ;;
  esac
  echo "http://$host:$port/metrics"
}

# "ID NAME" of every BPF program a host process holds open, from its fdinfo (exact even
# when other tests load programs of the same names meanwhile), checked with bpftool.
programs_of() {
  local pid=$1 id line
  while read -r id; do
    line=$(bpftool prog show id "$id" 2>/dev/null) || continue
    line=${line%%$'\n'*}
    awk '{ for (i = 1; i < NF; i++) if ($i == "name") print $1 + 0, $(i + 1) }' <<<"$line"
  done < <(awk '$1 == "prog_id:" { print $2 }' /proc/"$pid"/fdinfo/* 2>/dev/null | sort -un)
}

# Waits until none of the programs listed ("ID NAME" lines) is loaded any more: they are
# freed once their last reference goes, which can trail the process's exit a little.
wait_programs_freed() {
  local programs=$1 left="" id i
  for ((i = 0; i < 50; i++)); do
    left=""
    while read -r id _; do
      if bpftool prog show id "$id" >/dev/null 2>&1; then left+="$id "; fi
    done <<<"$programs"
    [[ -z $left ]] && return 0
    sleep 0.1
  done
  fail "BPF programs still loaded after execmond ended: ids $left"
}

# Finds execmond's main process on the host, into EXECMOND_HOST_PID.
find_execmond() {
  local main_pid status pid
  main_pid=$(in_container timeout 10 systemctl show -p MainPID --value execmond)
  EXECMOND_HOST_PID=""
  while read -r status; do
    pid=${status#/proc/}
    pid=${pid%/status}
    if [[ "$(readlink "/proc/$pid/ns/pid")" == "$LEADER_PIDNS" ]]; then
      EXECMOND_HOST_PID=$pid
      return 0
    fi
  done < <(grep -l "^NSpid:.*[[:space:]]$main_pid\$" /proc/[0-9]*/status 2>/dev/null)
  fail "cannot find execmond (pid $main_pid in the container) on the host"
}

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
  # Bits 38 (CAP_PERFMON) and 39 (CAP_BPF), nothing else.
  [[ $caps == 000000c000000000 ]] || fail "execmond's effective capabilities are $caps, expected CAP_BPF+CAP_PERFMON (000000c000000000)"
  [[ "$(awk '/^CapBnd:/ { print $2 }' "$status")" == 000000c000000000 ]] ||
    fail "execmond's capability bounding set is not CAP_BPF+CAP_PERFMON"
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
  pass "execmond runs with only CAP_BPF+CAP_PERFMON, no_new_privs, seccomp, read-only / and /sys, a pid-only /proc, private /tmp and /dev, no /home, /root or /etc/shadow"
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
  grep -q '^execmond_events_lost_total ' <<<"$body" || fail "/metrics has no execmond_events_lost_total"
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
  wait_for_metric 'execmond_events_lost_total' 0
  pass "$PROBE_RUNS execs, failed execs (ENOENT) and non-zero exits of $PROBE_COMM in the container are counted exactly"
}

# The shipped allow-list: the probe in /usr/local/bin is expected, its copy in /opt is
# not; the unexpected exec is logged to the journal with fields of its own.
check_unexpected_binary() {
  local rc=0 entry
  in_container "/opt/$PROBE_COMM" 2>/dev/null || rc=$?
  ((rc == PROBE_EXIT_CODE)) || fail "/opt/$PROBE_COMM exited $rc, expected $PROBE_EXIT_CODE"
  wait_for_metric "execmond_unexpected_execs_total{comm=\"$PROBE_COMM\",path=\"/opt/$PROBE_COMM\"}" 1
  [[ -z $(metric "execmond_unexpected_execs_total{comm=\"$PROBE_COMM\",path=\"/usr/local/bin/$PROBE_COMM\"}") ]] ||
    fail "/usr/local/bin/$PROBE_COMM, on the shipped allow-list, was counted as unexpected"
  pass "a script outside the shipped allow-list is counted by its path, one inside it is not"
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

main() {
  (($# == 1)) || die "usage: $0 BINARY"
  local binary
  binary=$(readlink -f "$1") || die "$1: no such file"
  [[ -x $binary && -f $binary ]] || die "$1: not an executable file"
  ((EUID == 0)) || die "must run as root (debootstrap, systemd-nspawn, bpftool)"
  [[ -f $CONFIG_FILE ]] || die "$CONFIG_FILE: missing"
  [[ -f $UNIT_FILE ]] || die "$UNIT_FILE: missing"
  need_tools

  PACKAGES=("${BASE_PACKAGES[@]}")
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
  check_unexpected_binary
  check_restart_after_crash
  check_clean_stop
  printf 'systemd-test: %d passed, 0 failed\n' "$PASSED"
}

main "$@"

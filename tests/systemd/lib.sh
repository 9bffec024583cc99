# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shell shared by the tests that boot a Debian root under a real systemd in
# systemd-nspawn (tests/systemd/run-systemd-test.sh, tests/package/run-package-test.sh):
# the cached debootstrap rootfs, one run's overlay on it, booting, entering and tearing
# down the container, and reading execmond's /metrics and BPF programs from the host.
# tests/container/run-container-test.sh uses only the last part (and its own metric()).
#
# Sourced, not run. The test sets, before sourcing:
#   TEST_NAME    "systemd-test", "package-test": the prefix of its summary line
#   SUITE        the Debian release of the root (bookworm, trixie)
#   MACHINE      the container's name
#   CONFIG_FILE  the configuration whose listen address metrics_url() scrapes
# and calls `trap teardown EXIT` once WORK (its scratch directory) is made.

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
  printf '%s: %d passed, 1 failed\n' "$TEST_NAME" "$PASSED"
  exit 1
}
die() {
  printf 'run-%s: %s\n' "$TEST_NAME" "$*" >&2
  exit 2
}

# The cached roots, their overlays and the mirror: packaging/debian-root.sh, shared with
# the package builds.
# shellcheck source=packaging/debian-root.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../packaging/debian-root.sh"

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

remove_tree() { debian_root_remove_tree "$@"; }

# --- The cached rootfs -----------------------------------------------------------------

# The cached root of SUITE for this host's architecture: the "base" set (an init, a bus,
# curl) plus the packages in $@, made once by debian-root.sh, into CACHE. The run holds a
# shared lock on it, so that no rebuild swaps it away under the run's overlay.
ensure_rootfs() {
  local with
  with=$(IFS=,; echo "$*")
  debian_root_ensure "$SUITE" "$(dpkg --print-architecture)" base "$with"
  CACHE=$DEBIAN_ROOT
  debian_root_hold
}

# --- One run's container ---------------------------------------------------------------

# The run's root: an overlay on the cached rootfs (the cache stays pristine), or a copy
# where overlayfs is not available.
prepare_root() {
  OVERLAY_MOUNTED=$(debian_root_overlay "$WORK")
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
  container_cgroup
  log "booting the container ($WORK/console.log)"
  (
    # In a cgroup v2 of its own, where the container's systemd makes its units' cgroups.
    if [[ -n $CONTAINER_CGROUP ]]; then echo "$BASHPID" >"$CONTAINER_CGROUP/cgroup.procs"; fi
    exec systemd-nspawn "${args[@]}" </dev/null >"$WORK/console.log" 2>&1
  ) &
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
      maintenance | stopping) break ;;
    esac
    # "offline" is also what systemctl says in the instant before PID 1 has made
    # /run/systemd/system: only past the first 10 s is it an answer.
    [[ $state == offline ]] && ((i >= 50)) && break
    kill -0 "$NSPAWN_PID" 2>/dev/null || fail "the container stopped while booting"
    sleep 0.2
  done
  fail "the container did not finish booting (system state: '${state:-no answer}')"
}

# The container's PID 1 (systemd), a child of systemd-nspawn, into LEADER_PID.
# execmond names units from cgroup v2, so the container's systemd must run them there: on
# a host without systemd, the container gets the unified hierarchy
# (SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1) rooted at a cgroup made for it, CONTAINER_CGROUP.
# (Under a host systemd, nspawn already runs it in the machine's own delegated scope.)
CONTAINER_CGROUP=""
container_cgroup() {
  [[ ! -d /run/systemd/system ]] || return 0
  local v2
  v2=$(awk '$3 == "cgroup2" { print $2 }' /proc/self/mounts | grep -xE '/sys/fs/cgroup(/unified)?' |
    sort | head -n1)
  [[ -n $v2 ]] || return 0
  CONTAINER_CGROUP="$v2/execmond-systemd-test-$$"
  mkdir "$CONTAINER_CGROUP"
  export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
}

# Removes CONTAINER_CGROUP and what the container's systemd left in it, deepest first.
remove_container_cgroup() {
  [[ -n $CONTAINER_CGROUP && -d $CONTAINER_CGROUP ]] || return 0
  find "$CONTAINER_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null ||
    log "could not remove $CONTAINER_CGROUP"
}

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
  remove_container_cgroup
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


# The value of one sample in the container's /metrics, or nothing. The whole body
# first: awk leaving at the match would kill curl with SIGPIPE on a large body, which
# pipefail turns into a failure of the test.
metric() {
  local selector=$1 body
  body=$(in_container curl -fsS --max-time 5 "$METRICS_URL" 2>/dev/null) || return 0
  awk -v want="$selector" '$1 == want { print $2; exit }' <<<"$body"
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
  # grep exits 2 when a process ends while it reads: not an error here.
  done < <(grep -l "^NSpid:.*[[:space:]]$main_pid\$" /proc/[0-9]*/status 2>/dev/null || true)
  fail "cannot find execmond (pid $main_pid in the container) on the host"
}

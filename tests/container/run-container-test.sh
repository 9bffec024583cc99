#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds execmond's container images for amd64 and arm64 (deploy/container: FROM scratch,
# no registry, the portable binary and its C library) with Debian's podman, published
# locally as one multi-arch manifest (deploy/container/build-manifest.sh); checks the
# manifest's two entries and the arm64 image's contents (an arm64 binary and loader),
# and proves, on this host's kernel, that this host's architecture's image counts the
# host's execs:
#   - privileged, as a quick start would run it: host PID namespace, host network;
#   - with the least privilege the Kubernetes DaemonSet grants (deploy/kubernetes): no
#     --privileged, the host's PID namespace (its PID 1 is the host's view of binaries),
#     every capability dropped but BPF and PERFMON (counting), SYS_PTRACE and
#     DAC_READ_SEARCH (reading the files binaries are judged by), no seccomp filter, a
#     read-only root, the host's tracefs mounted read-only. There it counts an
#     exec storm of the host exactly, a failed exec (so tracefs works), and the test
#     measures the container's peak RSS and CPU under that storm (printed as MEASURE:
#     lines; the DaemonSet's requests and limits come from them);
#   - fewer privileges do not work and say so (exit 4): BPF without PERFMON, and the
#     runtime's default seccomp filter, which refuses bpf() to a container without
#     CAP_SYS_ADMIN;
#   - stopped, it exits 0 and nothing it loaded stays in the kernel.
#   - its configuration's parse is bounded in a child process there too (FROM scratch, the
#     runtime's default seccomp filter, least privilege).
#
# Usage: run-container-test.sh BUILD_DIR
#   BUILD_DIR holds the built daemon/execmond and tests/benchmark/{exec_storm,true_exit}.
#   As root, with podman and runc (crun refuses this host's hybrid cgroups). About 30 s.
#   Ends with "container-test: N passed, M failed"; exit 0 only if every check passed, 1
#   if one failed, 2 if the test could not run. Containers and the image are removed in
#   every case.
# Environment:
#   EXECMOND_STORM_EXECS  execs in the storm (default 60000)
#   EXECMOND_TEST_KEEP=1  keep the work directory (build context, logs) on exit
set -Eeuo pipefail

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly SOURCE_DIR
readonly TEST_NAME=container-test
readonly PROGRAM_NAME_PATTERN='^handle_(exec|exit)'
readonly MANIFEST="localhost/execmond-test:$$"
IMAGE="$MANIFEST-$(dpkg --print-architecture)"
readonly IMAGE
readonly STORM_EXECS=${EXECMOND_STORM_EXECS:-60000}
# podman's run options that every run needs here: runc, and limits the container may
# set (the defaults podman asks for exceed what this host grants it).
readonly PODMAN=(podman --runtime runc)
# The host's network: /metrics on 127.0.0.1 of a free port, as simple as it gets.
readonly RUN_OPTIONS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --network=host)
# The DaemonSet's privileges (deploy/kubernetes/daemonset.yaml).
# shellcheck disable=SC2054 # BPF,PERFMON,... is one podman argument
readonly LEAST_PRIVILEGE=(--cap-drop=all --cap-add=BPF,PERFMON,SYS_PTRACE,DAC_READ_SEARCH
  --pid=host --security-opt seccomp=unconfined --security-opt no-new-privileges --read-only
  -v /sys/kernel/tracing:/sys/kernel/tracing:ro)
SUFFIX=$(printf '%06x' $(((RANDOM << 9 ^ RANDOM) & 0xffffff)))
readonly SUFFIX
# shellcheck source=tests/systemd/lib.sh
source "$SOURCE_DIR/tests/systemd/lib.sh"

CONTAINERS=()

# What podman knows about the containers of this run, when a check failed.
diagnostics() {
  local name
  for name in "${CONTAINERS[@]}"; do
    echo "--- podman logs $name" >&2
    "${PODMAN[@]}" logs "$name" 2>&1 | tail -n 30 >&2 || true
  done
}

cleanup() {
  local rc=$? name
  set +e
  trap - ERR
  for name in "${CONTAINERS[@]}"; do
    "${PODMAN[@]}" rm -f -t 5 "$name" >/dev/null 2>&1
  done
  "${PODMAN[@]}" manifest rm "$MANIFEST" >/dev/null 2>&1
  "${PODMAN[@]}" rmi -f "$MANIFEST-amd64" "$MANIFEST-arm64" >/dev/null 2>&1
  if [[ -n $WORK ]]; then
    if [[ ${EXECMOND_TEST_KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  fi
  exit "$rc"
}

# A TCP port nothing on the host listens on (the containers share the host's network).
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 10000))
    ss -Hltn "sport = :$port" | grep -q . || break
  done
  echo "$port"
}

# The value of one sample on $METRICS_URL, or nothing.
# (The whole body first: awk leaving early would make curl fail with SIGPIPE.)
metric() {
  local body
  body=$(curl -fsS --max-time 5 "$METRICS_URL" 2>/dev/null) || return 0
  awk -v want="$1" '$1 == want { print $2; exit }' <<<"$body"
}

# Whether /metrics answers with the exposition. The whole body first, as in metric():
# grep -q leaving at the first match would make curl fail with SIGPIPE (pipefail) when
# the body arrives in pieces, as a streamed exposition does.
serves_metrics() {
  local body
  body=$(curl -fsS --max-time 2 "$METRICS_URL" 2>/dev/null) || return 1
  grep -q '^execmond_build_info' <<<"$body"
}

# Starts the image as container NAME with the given podman options; waits for /metrics.
# Sets EXECMOND_HOST_PID (its pid on the host, from podman) and METRICS_URL.
start_container() {
  local name=$1 port i
  shift
  port=$(free_port)
  METRICS_URL="http://127.0.0.1:$port/metrics"
  CONTAINERS+=("$name")
  "${PODMAN[@]}" run -d --name "$name" "${RUN_OPTIONS[@]}" "$@" "$IMAGE" \
    --config /etc/execmond/execmond.yaml --listen "127.0.0.1:$port" >/dev/null ||
    fail "podman run $name failed"
  for ((i = 0; i < 100; i++)); do
    serves_metrics && break
    [[ "$("${PODMAN[@]}" inspect -f '{{.State.Running}}' "$name")" == true ]] ||
      fail "container $name stopped while starting"
    sleep 0.1
  done
  serves_metrics || fail "container $name does not serve $METRICS_URL after 10 s"
  EXECMOND_HOST_PID=$("${PODMAN[@]}" inspect -f '{{.State.Pid}}' "$name")
  EXECMOND_PROGRAMS=$(programs_of "$EXECMOND_HOST_PID")
  awk -v p="$PROGRAM_NAME_PATTERN" '$2 ~ p { found = 1 } END { exit !found }' <<<"$EXECMOND_PROGRAMS" ||
    fail "execmond in $name holds no handle_exec*/handle_exit* BPF program"
}

# SIGTERM: exit code 0, programs freed.
stop_container() {
  local name=$1 code
  "${PODMAN[@]}" stop -t 20 "$name" >/dev/null || fail "podman stop $name failed"
  code=$("${PODMAN[@]}" inspect -f '{{.State.ExitCode}}' "$name")
  [[ $code == 0 ]] || fail "execmond in $name exited $code on SIGTERM, expected 0"
  wait_programs_freed "$EXECMOND_PROGRAMS"
}

# A host process of a unique name, run COUNT times: the container must count each.
check_counts_host_execs() {
  local label=$1 name="xmctr_$SUFFIX" i
  cp /bin/true "$WORK/$name"
  for ((i = 0; i < 3; i++)); do "$WORK/$name"; done
  wait_for_metric "execmond_execs_total{comm=\"$name\"}" 3
  wait_for_metric "execmond_exits_total{comm=\"$name\"}" 3
  pass "$label: counts the host's execs and exits exactly ($name: 3)"
}

check_privileged() {
  start_container "execmond-priv-$SUFFIX" --privileged --pid=host
  pass "privileged: the image starts and serves /metrics"
  check_counts_host_execs privileged
  stop_container "execmond-priv-$SUFFIX"
  pass "privileged: SIGTERM: exit 0, BPF programs freed"
}

# Peak RSS (kB) of a host process, and the CPU time of all its threads in ns (schedstat:
# finer than the clock ticks of /proc/PID/stat, which a cheap daemon stays under).
peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ ns += $1 } END { printf "%.0f", ns }'; }

check_least_privilege() {
  local name="execmond-least-$SUFFIX"
  start_container "$name" "${LEAST_PRIVILEGE[@]}"
  local caps
  caps=$(awk '/^CapEff:/ { print $2 }' "/proc/$EXECMOND_HOST_PID/status")
  # CAP_DAC_READ_SEARCH (2), CAP_SYS_PTRACE (19), CAP_PERFMON (38), CAP_BPF (39).
  [[ $caps == 000000c000080004 ]] ||
    fail "execmond's effective capabilities are $caps, expected BPF+PERFMON+SYS_PTRACE+DAC_READ_SEARCH"
  grep -q '^Seccomp:[[:space:]]*0' "/proc/$EXECMOND_HOST_PID/status" || fail "a seccomp filter applies, expected none"
  pass "least privilege (CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, the host's PID namespace, read-only root, host tracefs read-only): starts and serves /metrics"
  check_counts_host_execs "least privilege"

  # A failed exec needs the exec system calls' tracepoints, found through tracefs.
  local failer="xmfail_$SUFFIX"
  cp /bin/sh "$WORK/$failer"
  "$WORK/$failer" -c 'exec /nonexistent/execmond-container-test' 2>/dev/null || true
  wait_for_metric "execmond_exec_failures_total{comm=\"$failer\",errno=\"ENOENT\"}" 1
  pass "least privilege: a failed exec on the host is counted (tracefs works)"

  # The storm: every exec of a uniquely named program, counted exactly, and what the
  # container costs meanwhile.
  local storm="xmstorm_$SUFFIX" out execs rate elapsed before after rss_before
  cp "$BUILD/tests/benchmark/true_exit" "$WORK/$storm"
  rss_before=$(peak_rss_kb "$EXECMOND_HOST_PID")
  before=$(cpu_ns "$EXECMOND_HOST_PID")
  out=$("$BUILD/tests/benchmark/exec_storm" --exe "$WORK/$storm" --workers 2 --count "$STORM_EXECS" --spawn vfork) ||
    fail "the exec storm failed: $out"
  after=$(cpu_ns "$EXECMOND_HOST_PID")
  execs=$(awk '$1 == "execs" { print $2 }' <<<"$out")
  rate=$(awk '$1 == "rate_per_s" { printf "%.0f", $2 }' <<<"$out")
  elapsed=$(awk '$1 == "elapsed_s" { print $2 }' <<<"$out")
  [[ $execs == "$STORM_EXECS" ]] || fail "the storm ran $execs execs, expected $STORM_EXECS: $out"
  wait_for_metric "execmond_execs_total{comm=\"$storm\"}" "$execs"
  wait_for_metric "execmond_exits_total{comm=\"$storm\"}" "$execs"
  wait_for_metric 'execmond_events_lost_total{record="exec"}' 0
  wait_for_metric 'execmond_events_lost_total{record="exit"}' 0
  pass "least privilege: an exec storm of $execs host execs ($rate/s) counted exactly, nothing lost"
  printf 'MEASURE: container idle peak RSS %d KiB; peak RSS after the storm %d KiB\n' \
    "$rss_before" "$(peak_rss_kb "$EXECMOND_HOST_PID")"
  awk -v ns=$((after - before)) -v s="$elapsed" -v n="$execs" 'BEGIN {
    printf "MEASURE: container CPU during the storm: %.1f ms in %.1f s (%.2f%% of one core) for %d execs + %d exits, %.3f us per event\n",
      ns / 1e6, s, 100 * ns / 1e9 / s, n, n, ns / 1e3 / (2 * n) }'
  stop_container "$name"
  pass "least privilege: SIGTERM: exit 0, BPF programs freed"
}

# Each privilege of the set is needed: without it the daemon refuses to run, saying so
# (exit 4, "not allowed to load BPF programs").
check_fewer_privileges_refused() {
  local label=$1 name="execmond-$2-$SUFFIX" code
  shift 2
  CONTAINERS+=("$name")
  "${PODMAN[@]}" run --name "$name" "${RUN_OPTIONS[@]}" "$@" "$IMAGE" \
    --config /etc/execmond/execmond.yaml --listen "127.0.0.1:$(free_port)" >"$WORK/$name.log" 2>&1 || true
  code=$("${PODMAN[@]}" inspect -f '{{.State.ExitCode}}' "$name")
  [[ $code == 4 ]] || fail "$label: execmond exited $code, expected 4: $(tail -n 3 "$WORK/$name.log")"
  grep -q 'not allowed to load BPF programs' "$WORK/$name.log" ||
    fail "$label: no 'not allowed to load BPF programs' in its log: $(tail -n 3 "$WORK/$name.log")"
  pass "$label: refused with exit 4, 'not allowed to load BPF programs'"
}

# The manifest names an amd64 and an arm64 image, and the arm64 one holds an arm64
# binary and the arm64 loader (it cannot run here; tests/arm64 runs that binary).
check_manifest() {
  local platforms mnt
  platforms=$("${PODMAN[@]}" manifest inspect "$MANIFEST" | python3 -c '
import json, sys
print(" ".join(sorted(m["platform"]["os"] + "/" + m["platform"]["architecture"]
                      for m in json.load(sys.stdin)["manifests"])))')
  [[ $platforms == "linux/amd64 linux/arm64" ]] ||
    fail "the manifest $MANIFEST names $platforms, expected linux/amd64 linux/arm64"
  pass "podman manifest: $MANIFEST names linux/amd64 and linux/arm64"
  [[ $("${PODMAN[@]}" image inspect -f '{{.Os}}/{{.Architecture}}' "$MANIFEST-arm64") == linux/arm64 ]] ||
    fail "$MANIFEST-arm64 is not a linux/arm64 image"
  mnt=$("${PODMAN[@]}" image mount "$MANIFEST-arm64")
  local machine loader=no
  machine=$(readelf -hW "$mnt/usr/sbin/execmond" | sed -n 's/^ *Machine: *//p')
  [[ -e $mnt/lib/ld-linux-aarch64.so.1 ]] && loader=yes
  "${PODMAN[@]}" image unmount "$MANIFEST-arm64" >/dev/null
  [[ $machine == AArch64 && $loader == yes ]] ||
    fail "the arm64 image holds a '$machine' execmond, arm64 loader: $loader"
  local size
  size=$("${PODMAN[@]}" image inspect -f '{{.Size}}' "$MANIFEST-arm64")
  pass "the arm64 image: an AArch64 execmond and the arm64 loader, $((size / 1024 / 1024)) MiB"
}

# The bound on parsing YAML (daemon/config/parse_bound.h: a child of /proc/self/exe, which
# here is the image's only binary) in the image FROM scratch, under the runtime's default
# seccomp filter and with the DaemonSet's privileges: --check-config proves a sound file,
# and refuses it once the test knob makes its parse run away.
check_parse_bound() {
  local label out code refusal size
  local -a privileges
  { cat "$SOURCE_DIR/config/execmond.yaml"; printf '\n# inject-parser-fault\n'; } >"$WORK/bound.yaml"
  chmod 0644 "$WORK/bound.yaml"
  # The CPU budget of daemon/config/parse_bound.cpp for a file of this size.
  size=$(stat -c %s "$WORK/bound.yaml")
  refusal="/etc/execmond/bound.yaml: refused: parsing it did not finish within $((250 + 2 * (size >> 10))) ms of CPU time"
  for label in "default seccomp filter" "least privilege"; do
    if [[ $label == "least privilege" ]]; then
      privileges=("${LEAST_PRIVILEGE[@]}")
    else
      privileges=(--cap-drop=all)
    fi
    code=0
    out=$("${PODMAN[@]}" run --rm "${RUN_OPTIONS[@]}" "${privileges[@]}" \
      -v "$WORK/bound.yaml:/etc/execmond/bound.yaml:ro" "$IMAGE" \
      --check-config --config /etc/execmond/bound.yaml 2>&1) || code=$?
    [[ $code == 0 && $out == *"/etc/execmond/bound.yaml: configuration is valid"* ]] ||
      fail "$label: --check-config of a sound file exited $code: $out"
    code=0
    out=$("${PODMAN[@]}" run --rm "${RUN_OPTIONS[@]}" "${privileges[@]}" \
      -e EXECMOND_INJECT_PARSER_FAULT=spin \
      -v "$WORK/bound.yaml:/etc/execmond/bound.yaml:ro" "$IMAGE" \
      --check-config --config /etc/execmond/bound.yaml 2>&1) || code=$?
    [[ $code == 3 && $out == *"$refusal"* ]] ||
      fail "$label: --check-config of a file whose parse runs away exited $code: $out"
    pass "$label: the image bounds its YAML parse in a child (a sound file passes, a runaway parse is refused)"
  done
}

main() {
  (($# == 1)) || die "usage: $0 BUILD_DIR"
  BUILD=$(readlink -f "$1") || die "$1: no such directory"
  local file
  for file in daemon/execmond tests/benchmark/exec_storm tests/benchmark/true_exit; do
    [[ -x $BUILD/$file ]] || die "$BUILD/$file: missing (build the tree first)"
  done
  ((EUID == 0)) || die "must run as root (BPF, rootful podman)"
  command -v podman >/dev/null || die "podman not found (apt-get install podman runc)"
  command -v runc >/dev/null || die "runc not found (apt-get install runc)"
  command -v bpftool >/dev/null || die "bpftool not found"
  # The DaemonSet mounts the host's tracefs: make sure this host has it where it belongs.
  if ! mountpoint -q /sys/kernel/tracing; then
    mount -t tracefs tracefs /sys/kernel/tracing || die "cannot mount tracefs at /sys/kernel/tracing"
  fi

  WORK=$(mktemp -d /var/tmp/execmond-container-test.XXXXXX)
  trap cleanup EXIT
  trap 'printf "run-container-test: unexpected failure at line %s: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR
  trap 'exit 130' INT TERM

  # The images come from the portable release tarballs (built in a Debian 11 root).
  cmake --build "$BUILD" --target portable-amd64 portable-arm64 >"$WORK/portable.log" 2>&1 ||
    die "the portable builds failed: $(tail -n 20 "$WORK/portable.log")"
  "$SOURCE_DIR/deploy/container/build-manifest.sh" "$BUILD" "$MANIFEST" 2>"$WORK/manifest.log" ||
    fail "build-manifest.sh failed: $(tail -n 10 "$WORK/manifest.log")"
  check_manifest
  local layers size
  layers=$("${PODMAN[@]}" image inspect -f '{{len .RootFS.Layers}}' "$IMAGE")
  size=$("${PODMAN[@]}" image inspect -f '{{.Size}}' "$IMAGE")
  [[ $layers == 1 ]] || fail "the image has $layers layers: FROM scratch should give one"
  pass "podman build: one layer from scratch, $((size / 1024 / 1024)) MiB ($IMAGE)"
  printf 'MEASURE: image size %d bytes\n' "$size"

  check_privileged
  check_least_privilege
  check_fewer_privileges_refused "BPF without PERFMON" noperfmon \
    --cap-drop=all --cap-add=BPF --security-opt seccomp=unconfined
  check_fewer_privileges_refused "the runtime's default seccomp filter" seccomp \
    --cap-drop=all --cap-add=BPF,PERFMON
  check_parse_bound
  printf '%s: %d passed, 0 failed\n' "$TEST_NAME" "$PASSED"
}

main "$@"

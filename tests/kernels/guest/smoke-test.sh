#!/bin/sh
# The smoke test, run by /init inside the VM. Settings come from the kernel command line:
#   kt_mode=boot|smoke          boot: only prove the VM runs; smoke: test execmond
#   kt_storage=yes|no           whether execmond must choose its task-storage programs
#   kt_scripts=hook|proc        how it must identify a script's file (kernel hook or /proc)
#   kt_cases=default,no-storage runs, each with a fresh daemon (see kernels.list)
# Prints one "EXECMOND-KERNEL-CASE:" line per run and one "EXECMOND-KERNEL-TEST:" line.

readonly PORT=9717
readonly URL="http://127.0.0.1:$PORT/metrics"
readonly COMM=kt_probe
readonly THREAD_COMM=kt_worker
readonly FAIL_COMM=kt_failer # execs a path that does not exist
readonly STRAY_COMM=kt_stray # a copy of the workload outside the allow-list
readonly RENAMED_COMM=kt_renamed # what a $COMM process renames itself to
readonly SCRIPT=kt_script.sh # run through a symlink and "..": /kt/link/../../real/$SCRIPT
# The script's real file, and what folding the caller's string lexically would name.
readonly SCRIPT_REAL=/kt/real/$SCRIPT SCRIPT_FOLDED=/real/$SCRIPT
readonly READY_TIMEOUT=150 # seconds; loading and verifying under TCG is slow
readonly SETTLE_TIMEOUT=30
readonly STOP_TIMEOUT=30

param() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -n1; }

result() {
  echo "EXECMOND-KERNEL-TEST: $*"
  : >/tmp/result-printed
}

# Sum of the samples of metric $1 whose labels contain every further argument, or
# "absent" when there is none.
metric() {
  name=$1
  shift
  awk -v name="$name" -v filters="$*" '
    BEGIN { n = split(filters, want, " ") }
    $1 == name || index($1, name "{") == 1 {
      for (i = 1; i <= n; i++) if (index($1, want[i]) == 0) next
      sum += $2; found = 1
    }
    END { if (found) print sum + 0; else print "absent" }' /tmp/metrics
}

scrape() { wget -qO /tmp/metrics "$URL" 2>/dev/null; }

dump_daemon_log() {
  echo "----- execmond stderr ($1) -----"
  cat "/tmp/execmond-$1.err"
  echo "----- execmond stdout ($1) -----"
  cat "/tmp/execmond-$1.out"
  echo "----- end of execmond output ($1) -----"
}

# The samples the checks read (histogram buckets left out) and the build's identity.
dump_metrics() {
  echo "----- /metrics samples for $COMM, $THREAD_COMM and the daemon -----"
  grep -E "comm=\"($COMM|$THREAD_COMM|$STRAY_COMM|$SCRIPT)\"|^execmond_events_lost|^execmond_build_info" /tmp/metrics |
    grep -v '_bucket{'
  echo "----- end of samples -----"
}

# The workload: five processes named $COMM (three clean exits, one exit 3, one death by
# SIGTERM), each checked against what the shell saw, so a miscount is execmond's and not
# the workload's. With execmond_workload, two of the clean ones end from a thread renamed
# $THREAD_COMM (once with the leader still there, once after it left), which must still
# be counted under $COMM. Without it, a shell script of builtins stands in.
run_workload() {
  if [ -x /usr/bin/execmond_workload ]; then
    set -- "0|" \
      "0|--threads 2 --sleep-ms 20 --thread-name $THREAD_COMM" \
      "0|--threads 2 --sleep-ms 20 --thread-name $THREAD_COMM --leader-exits-first" \
      "3|--exit 3" "143|--signal 15"
  else
    set -- "0|" "0|" "0|" "3|exit 3" "143|signal TERM"
  fi
  FAILED_EXECS=0
  # Path resolution in the kernel: $COMM is a symlink to an allowed binary (never
  # unexpected), $STRAY_COMM a copy outside the list (unexpected at each exec).
  STRAY_EXECS=absent
  if [ -x /usr/bin/execmond_workload ]; then
    cp /usr/bin/execmond_workload /kt/$STRAY_COMM
    /kt/$STRAY_COMM && /kt/$STRAY_COMM || { echo "$STRAY_COMM failed"; return 1; }
    STRAY_EXECS=2
  fi
  # A script reached through a symlink and "..": the kernel follows /kt/link to
  # /kt/a/b, so the file is $SCRIPT_REAL, not the lexical $SCRIPT_FOLDED.
  /kt/link/../../real/$SCRIPT || { echo "$SCRIPT failed"; return 1; }
  RENAMES=0
  if [ -x /usr/bin/execmond_workload ]; then
    for _ in 1 2; do
      /kt/$FAIL_COMM --exec /kt/does-not-exist 2>/dev/null
      [ $? = 127 ] || { echo "$FAIL_COMM did not fail to exec"; return 1; }
      FAILED_EXECS=$((FAILED_EXECS + 1))
    done
    # A process that renames itself: with task storage its exit keeps the exec'd name.
    /kt/$COMM --rename $RENAMED_COMM --sleep-ms 10 2>/dev/null ||
      { echo "the renaming $COMM failed"; return 1; }
    RENAMES=1
  fi
  for run in "$@"; do
    want=${run%%|*}
    args=${run#*|}
    # shellcheck disable=SC2086 # $args is a list of arguments
    /kt/$COMM $args 2>/dev/null
    status=$?
    if [ "$status" != "$want" ]; then
      echo "workload '$COMM $args' returned $status instead of $want"
      return 1
    fi
  done
}

# The path the script is counted under: its real file, whichever the method (the kernel
# hook's identity, or the daemon's walk as the kernel's path lookup did it); never the
# lexical $SCRIPT_FOLDED.
script_path() {
  echo "$SCRIPT_REAL"
}

# Exits under $COMM and under $RENAMED_COMM: without task storage, the renamed process
# is named by its name at exit.
expected_exits() {
  if [ "$storage" = yes ]; then echo $((5 + RENAMES)); else echo 5; fi
}
expected_renamed_exits() {
  if [ "$storage" = yes ] || [ "$RENAMES" = 0 ]; then echo absent; else echo "$RENAMES"; fi
}

check_counts() {
  failures=""
  for check in \
    "execmond_execs_total comm=\"$COMM\" =$((5 + RENAMES))" \
    "execmond_exits_total comm=\"$COMM\" =$(expected_exits)" \
    "execmond_exits_total comm=\"$RENAMED_COMM\" =$(expected_renamed_exits)" \
    "execmond_exits_nonzero_total comm=\"$COMM\" =1" \
    "execmond_exits_signaled_total comm=\"$COMM\" signal=\"SIGTERM\" =1" \
    "execmond_events_lost_total =0" \
    "execmond_exits_total comm=\"$THREAD_COMM\" =absent" \
    "execmond_exec_failures_total comm=\"$FAIL_COMM\" errno=\"ENOENT\" =$FAILED_EXECS" \
    "execmond_unexpected_execs_total comm=\"$STRAY_COMM\" path=\"/kt/$STRAY_COMM\" =$STRAY_EXECS" \
    "execmond_unexpected_execs_total comm=\"$COMM\" =absent" \
    "execmond_unexpected_execs_total comm=\"$SCRIPT\" path=\"$(script_path)\" =1" \
    "execmond_unexpected_execs_total comm=\"$SCRIPT\" path=\"$SCRIPT_FOLDED\" =absent"; do
    want=${check##*=}
    query=${check% =*}
    # shellcheck disable=SC2086 # the metric name, then its label filters
    got=$(metric $query)
    [ "$got" = "$want" ] || failures="$failures; $query is $got, expected $want"
  done
  echo "${failures#; }"
}

# run_case NAME EXPECT_STORAGE EXPECT_SCRIPTS [VAR=VALUE]: one daemon's life, from start
# to SIGTERM.
# Prints the case line; returns non-zero with the reason in /tmp/reason on failure.
run_case() {
  case_name=$1 expect_storage=$2 expect_scripts=$3
  shift 3
  rm -f /tmp/metrics
  err=/tmp/execmond-$case_name.err
  out=/tmp/execmond-$case_name.out
  config=""
  if execmond --config /etc/execmond-debug.yaml --check-config >/dev/null 2>&1; then
    config="--config /etc/execmond-debug.yaml"
  fi

  start=$(cut -d. -f1 /proc/uptime)
  # shellcheck disable=SC2086 # $config is empty or an option and its value
  env "$@" execmond --listen "127.0.0.1:$PORT" $config >"$out" 2>"$err" &
  pid=$!
  waited=0
  until scrape; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      echo "execmond exited with status $? before serving /metrics" >/tmp/reason
      return 1
    fi
    if [ "$waited" -ge "$READY_TIMEOUT" ]; then
      echo "/metrics did not answer within ${READY_TIMEOUT}s" >/tmp/reason
      kill -KILL "$pid"
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  ready=$(($(cut -d. -f1 /proc/uptime) - start))

  attached=$(grep -m1 'attached' "$err")
  case "$attached" in
    *"no task storage"* | *"without task storage"*) storage=no ;;
    *"task storage"*) storage=yes ;;
    *) storage=unknown ;;
  esac
  grep -m1 'starting with configuration' "$err" | sed "s/^/EXECMOND-KERNEL-LOG: $case_name: /"
  case "$attached" in
    *handle_execve_return*) hook=fexit ;;
    *handle_execve_kretprobe*) hook=kretprobe ;;
    *handle_execve_exit*) hook=tracepoints ;;
    *) hook=none ;;
  esac
  echo "EXECMOND-KERNEL-LOG: $case_name: $attached"
  script_line=$(grep -m1 'script files:' "$err")
  case "$script_line" in
    *"kernel hook"*) scripts=hook ;;
    *"userspace resolution through /proc"*) scripts=proc ;;
    *) scripts=unknown ;;
  esac
  echo "EXECMOND-KERNEL-LOG: $case_name: ${script_line#* info }"
  grep -iE 'warn|retrying' "$err" | grep -v 'debug' | head -n 10 |
    sed "s/^/EXECMOND-KERNEL-LOG: $case_name: /"

  if ! run_workload >/tmp/reason; then
    kill -KILL "$pid"
    return 1
  fi

  # Records reach the counters asynchronously: wait for the last exit to land, then
  # scrape once more so a late duplicate would still be seen.
  waited=0
  while scrape && [ "$(metric execmond_exits_total comm=\"$COMM\")" != "$(expected_exits)" ] &&
    [ "$waited" -lt "$SETTLE_TIMEOUT" ]; do
    sleep 1
    waited=$((waited + 1))
  done
  sleep 1
  if ! scrape; then
    echo "/metrics stopped answering after the workload" >/tmp/reason
    kill -KILL "$pid"
    return 1
  fi
  failures=$(check_counts)

  kill -TERM "$pid"
  waited=0
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$STOP_TIMEOUT" ]; do
    sleep 1
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    stop="still running ${STOP_TIMEOUT}s after SIGTERM"
  else
    wait "$pid"
    stop_status=$?
    [ "$stop_status" = 0 ] && stop="" || stop="exited with status $stop_status on SIGTERM"
  fi

  echo "EXECMOND-KERNEL-CASE: $case_name storage=$storage scripts=$scripts" \
    "failed_exec_hook=$hook ready_s=$ready" \
    "execs=$(metric execmond_execs_total comm=\"$COMM\")" \
    "exits=$(metric execmond_exits_total comm=\"$COMM\")" \
    "renamed_exits=$(metric execmond_exits_total comm=\"$RENAMED_COMM\")" \
    "nonzero=$(metric execmond_exits_nonzero_total comm=\"$COMM\")" \
    "sigterm=$(metric execmond_exits_signaled_total comm=\"$COMM\" signal=\"SIGTERM\")" \
    "lost=$(metric execmond_events_lost_total)" \
    "exec_failures=$(metric execmond_exec_failures_total comm=\"$FAIL_COMM\" errno=\"ENOENT\")" \
    "unexpected=$(metric execmond_unexpected_execs_total comm=\"$STRAY_COMM\" path=\"/kt/$STRAY_COMM\")" \
    "script=$(metric execmond_unexpected_execs_total comm=\"$SCRIPT\" path=\"$(script_path)\")"

  reason=""
  [ "$storage" = "$expect_storage" ] ||
    reason="loaded storage=$storage programs, expected storage=$expect_storage"
  [ "$scripts" = "$expect_scripts" ] ||
    reason="${reason:+$reason; }scripts identified by $scripts, expected $expect_scripts"
  [ -z "$failures" ] || reason="${reason:+$reason; }$failures"
  [ -z "$stop" ] || reason="${reason:+$reason; }$stop"
  echo "$reason" >/tmp/reason
  [ -z "$reason" ]
}

mode=$(param kt_mode)
if [ "$mode" = boot ]; then
  result "PASS (boot only: kernel $(uname -r))"
  exit 0
fi
if ! command -v execmond >/dev/null; then
  result "FAIL: the image has no execmond binary"
  exit 1
fi
if [ ! -r /sys/kernel/btf/vmlinux ]; then
  result "FAIL: the kernel exposes no /sys/kernel/btf/vmlinux"
  exit 1
fi
mkdir -p /kt/a/b /kt/real
ln -s /kt/a/b /kt/link
printf '#!/bin/sh\nexit 0\n' >"$SCRIPT_REAL"
chmod 755 "$SCRIPT_REAL"
if [ -x /usr/bin/execmond_workload ]; then
  ln -s /usr/bin/execmond_workload /kt/$COMM
  ln -s /usr/bin/execmond_workload /kt/$FAIL_COMM
  workload="execmond_workload"
else
  cp /kt/kt_probe.sh /kt/$COMM
  workload="shell script"
fi
echo "EXECMOND-KERNEL-INFO: workload: $workload as $COMM"

expect=$(param kt_storage)
expect_scripts_default=$(param kt_scripts)
failed=""
# run_named_case NAME: a case of kernels.list, mapped to run_case's arguments.
run_named_case() {
  case "$1" in
    default) run_case default "$expect" "$expect_scripts_default" ;;
    # The hook keeps its sightings in task storage: without it, /proc.
    no-storage) run_case no-storage no proc EXECMOND_DISABLE_TASK_STORAGE=1 ;;
    *) echo "unknown case $1" >/tmp/reason && return 1 ;;
  esac
}

for case_name in $(param kt_cases | tr ',' ' '); do
  if ! run_named_case "$case_name"; then
    echo "EXECMOND-KERNEL-CASE: $case_name FAIL: $(cat /tmp/reason)"
    [ -e /tmp/metrics ] && dump_metrics
    [ -e "/tmp/execmond-$case_name.err" ] && dump_daemon_log "$case_name"
    failed="${failed:+$failed; }$case_name: $(cat /tmp/reason)"
  fi
done

if [ -n "$failed" ]; then
  result "FAIL: $failed"
  exit 1
fi
result "PASS"

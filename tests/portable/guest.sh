#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Inside a clean Debian root (tests/portable/run-portable-test.sh runs it under
# systemd-nspawn with the host's kernel): unpack the release tarball from /t, validate
# its configuration, run its binary on it, and check that a known workload is counted
# exactly. Prints "PORTABLE-CHECK: PASS|FAIL what" lines and one "PORTABLE-RESULT:".
set -u
readonly URL=http://127.0.0.1:9717/metrics
readonly STORM=200
failures=0

check() { # check WHAT GOT WANT
  if [ "$2" = "$3" ]; then
    echo "PORTABLE-CHECK: PASS $1 = $2"
  else
    echo "PORTABLE-CHECK: FAIL $1 = $2, expected $3"
    failures=$((failures + 1))
  fi
}
# The sum of metric $1's samples whose labels hold every further argument, or "absent".
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
scrape() { curl -sf -o /tmp/metrics "$URL"; }
finish() {
  [ "$failures" = 0 ] && echo "PORTABLE-RESULT: PASS" || echo "PORTABLE-RESULT: FAIL ($failures checks)"
  exit 0
}

echo "PORTABLE-INFO: $(. /etc/os-release && echo "$PRETTY_NAME"), $(ldd --version | head -n1)"
cd /tmp && tar -xzf /t/execmond-*.tar.gz || { echo "PORTABLE-CHECK: FAIL unpacking"; failures=1; finish; }
dir=$(echo /tmp/execmond-*)
execmond=$dir/execmond
for file in execmond execmond.service execmond.yaml execmond.8 LICENSE NOTICE install.sh; do
  [ -e "$dir/$file" ] || { echo "PORTABLE-CHECK: FAIL the tarball lacks $file"; failures=$((failures + 1)); }
done
check "execmond --version" "$("$execmond" --version 2>&1)" "execmond $(basename "$dir" | cut -d- -f2)"
"$execmond" --check-config --config "$dir/execmond.yaml" >/tmp/check.out 2>&1
check "--check-config on the shipped configuration: exit status" "$?" 0
printf 'lisen: ":9717"\n' >/tmp/bad.yaml
"$execmond" --check-config --config /tmp/bad.yaml >/tmp/bad.out 2>&1
check "--check-config on a misspelt key: exit status" "$?" 3

# install.sh as a user would run it (no systemd runs in this root: it says so and
# installs the files); the daemon below runs from where it installed it.
"$dir/install.sh" >/tmp/install.out 2>&1
check "install.sh: exit status" "$?" 0
check "install.sh: the binary" "$(stat -c %a /usr/local/sbin/execmond 2>&1)" 755
check "install.sh: the configuration" "$(cmp -s "$dir/execmond.yaml" /etc/execmond/execmond.yaml && echo same)" same
execmond=/usr/local/sbin/execmond

# The workload: allowed where an administrator installs it (the shipped allow-list plus
# the "/usr/local/bin/*" the README tells them to add), a stray copy outside it, and one
# in /usr/bin that no package owns (unexpected: unpackaged) and that fails to exec.
install -m 755 /t/execmond_workload /usr/local/bin/pt_probe
install -m 755 /t/execmond_workload /usr/bin/pt_failer
install -m 755 /t/execmond_workload /tmp/pt_stray
sed 's|^  allow:$|  allow:\n    - "/usr/local/bin/*"|' "$dir/execmond.yaml" >/tmp/run.yaml

"$execmond" --config /tmp/run.yaml --listen 127.0.0.1:9717 >/tmp/execmond.log 2>&1 &
pid=$!
waited=0
until scrape; do
  if ! kill -0 "$pid" 2>/dev/null || [ "$waited" -ge 60 ]; then
    echo "PORTABLE-CHECK: FAIL /metrics never answered"
    sed 's/^/PORTABLE-LOG: /' /tmp/execmond.log
    failures=$((failures + 1))
    kill -KILL "$pid" 2>/dev/null
    finish
  fi
  sleep 0.5
  waited=$((waited + 1))
done
grep -m1 'attached' /tmp/execmond.log | sed 's/^/PORTABLE-LOG: /'

i=0
while [ "$i" -lt "$STORM" ]; do
  /usr/local/bin/pt_probe || check "pt_probe exit status" "$?" 0
  i=$((i + 1))
done
/usr/local/bin/pt_probe --exit 3
check "pt_probe --exit 3: exit status" "$?" 3
/usr/local/bin/pt_probe --signal 9
check "pt_probe --signal 9: exit status" "$?" 137
/tmp/pt_stray
/usr/bin/pt_failer --exec /nonexistent 2>/dev/null
check "pt_failer --exec /nonexistent: exit status" "$?" 127

want_exits=$((STORM + 2))
waited=0
# (pt_failer's verdict waits for its file's digest and the package database.)
while scrape && { [ "$(metric execmond_exits_total 'comm="pt_probe"')" != "$want_exits" ] ||
  [ "$(metric execmond_unexpected_execs_total 'path="/usr/bin/pt_failer"')" = absent ]; } &&
  [ "$waited" -lt 30 ]; do
  sleep 1
  waited=$((waited + 1))
done
sleep 1
scrape
check "execmond_execs_total{comm=pt_probe}" "$(metric execmond_execs_total 'comm="pt_probe"')" "$want_exits"
check "execmond_exits_total{comm=pt_probe}" "$(metric execmond_exits_total 'comm="pt_probe"')" "$want_exits"
check "execmond_exits_nonzero_total{comm=pt_probe}" "$(metric execmond_exits_nonzero_total 'comm="pt_probe"')" 1
check "execmond_exits_signaled_total{comm=pt_probe,signal=SIGKILL}" \
  "$(metric execmond_exits_signaled_total 'comm="pt_probe"' 'signal="SIGKILL"')" 1
check "execmond_unexpected_execs_total{path=/tmp/pt_stray}" \
  "$(metric execmond_unexpected_execs_total 'path="/tmp/pt_stray"')" 1
check "execmond_unexpected_execs_total{comm=pt_probe}" \
  "$(metric execmond_unexpected_execs_total 'comm="pt_probe"')" absent
check "execmond_unexpected_execs_total{path=/usr/bin/pt_failer,reason=unpackaged}" \
  "$(metric execmond_unexpected_execs_total 'path="/usr/bin/pt_failer"' 'reason="unpackaged"')" 1
check "execmond_exec_failures_total{comm=pt_failer,errno=ENOENT}" \
  "$(metric execmond_exec_failures_total 'comm="pt_failer"' 'errno="ENOENT"')" 1
check "execmond_events_lost_total" "$(metric execmond_events_lost_total)" 0

kill -TERM "$pid"
wait "$pid"
check "exit status on SIGTERM" "$?" 0
"$dir/install.sh" --uninstall >/tmp/uninstall.out 2>&1
check "install.sh --uninstall: the binary is gone" "$([ -e /usr/local/sbin/execmond ] && echo present || echo gone)" gone
[ "$failures" = 0 ] || sed 's/^/PORTABLE-LOG: /' /tmp/execmond.log | tail -n 40
finish

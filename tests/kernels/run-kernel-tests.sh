#!/bin/bash
# Boot Debian's cloud kernels under qemu (TCG) and run execmond's smoke test in each.
#
#   run-kernel-tests.sh [--boot-only] [--kernels NAME,...] BUILD_DIR
#
# BUILD_DIR holds daemon/execmond (and tests/execmond_workload, when built). Kernels
# come from kernels.list; they are downloaded once into $EXECMOND_KERNEL_CACHE
# (default /var/cache/execmond-test/kernels). Serial logs and the initramfs go to
# $EXECMOND_KERNEL_OUT_DIR (default: "runs" in the cache), never into the source tree.
# --boot-only boots each kernel with a trivial test, which needs no execmond
# (BUILD_DIR may then be omitted).
#
# Environment: EXECMOND_KERNEL_CACHE, EXECMOND_KERNEL_REFRESH=1 (look for newer
# kernels), EXECMOND_KERNEL_BOOT_TIMEOUT (seconds per boot, default 240),
# EXECMOND_KERNEL_LIST (another kernels.list), EXECMOND_KERNEL_OUT_DIR.
# Exits 0 when every kernel passes, 1 when one fails, 2 on a usage or setup error.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
readonly HERE
readonly BOOT_TIMEOUT=${EXECMOND_KERNEL_BOOT_TIMEOUT:-240}
readonly KERNEL_LIST=${EXECMOND_KERNEL_LIST:-$HERE/kernels.list}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}
die() { echo "run-kernel-tests: error: $*" >&2; exit 2; }

boot_only=0
only_kernels=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --boot-only) boot_only=1 ;;
    --kernels) only_kernels=${2:?--kernels needs a list}; shift ;;
    -h | --help) usage 0 ;;
    -*) die "unknown option $1" ;;
    *) break ;;
  esac
  shift
done
[[ $# -le 1 ]] || usage
build_dir=${1:-}
if [[ $boot_only == 0 ]]; then
  [[ -n $build_dir ]] || usage
  [[ -x $build_dir/daemon/execmond ]] || die "$build_dir/daemon/execmond is not built"
fi

# qemu, busybox and cpio are installed from Debian when missing (we may be on a fresh
# CI machine); the kernels themselves never go through the system's apt.
ensure_tools() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
  command -v busybox >/dev/null || missing+=(busybox-static)
  command -v cpio >/dev/null || missing+=(cpio)
  [[ ${#missing[@]} -eq 0 ]] && return
  [[ $(id -u) == 0 ]] || die "missing ${missing[*]}: apt-get install ${missing[*]}"
  echo "run-kernel-tests: installing ${missing[*]}" >&2
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" \
    >&2 || { apt-get update -qq >&2 && apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    --no-install-recommends "${missing[@]}" >&2; } || die "cannot install ${missing[*]}"
}

# boot KERNEL_DIR INITRD LOG APPEND: one VM, its serial console into LOG.
boot() {
  local kernel=$1 initrd=$2 log=$3 append=$4
  timeout --kill-after=10 "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max \
    -m 1024 -smp 2 -nographic -no-reboot -nic none \
    -kernel "$kernel/vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 quiet $append" </dev/null >"$log" 2>&1
}

ensure_tools
out_dir=${EXECMOND_KERNEL_OUT_DIR:-${EXECMOND_KERNEL_CACHE:-/var/cache/execmond-test/kernels}/runs}
mkdir -p "$out_dir"

initrd=$out_dir/initramfs.cpio.gz
if [[ $boot_only == 1 ]]; then
  "$HERE/make-initramfs.sh" "$initrd"
else
  workload=()
  [[ -x $build_dir/tests/execmond_workload ]] && workload=("$build_dir/tests/execmond_workload")
  "$HERE/make-initramfs.sh" "$initrd" "$build_dir/daemon/execmond" "${workload[@]}"
fi

declare -a rows=()
tested=0
failures=0
while read -r name package storage scripts cases; do
  [[ -z $name || $name == \#* ]] && continue
  [[ -z $only_kernels || ,$only_kernels, == *,$name,* ]] || continue

  if ! kernel=$("$HERE/fetch-kernel.sh" "$name" "$package"); then
    tested=$((tested + 1))
    rows+=("$name|-|FAIL|the kernel could not be fetched|-")
    failures=$((failures + 1))
    continue
  fi
  tested=$((tested + 1))
  log=$out_dir/$name.serial.log
  mode=smoke
  [[ $boot_only == 1 ]] && mode=boot
  echo "run-kernel-tests: booting $name ($(cat "$kernel/package")), log in $log" >&2
  started=$SECONDS
  boot_status=0
  boot "$kernel" "$initrd" "$log" \
    "kt_mode=$mode kt_storage=$storage kt_scripts=$scripts kt_cases=$cases" ||
    boot_status=$?
  elapsed=$((SECONDS - started))

  # The guest's lines may carry a \r from the serial console.
  line=$(tr -d '\r' <"$log" | grep -m1 '^EXECMOND-KERNEL-TEST: ' || true)
  detail=$(tr -d '\r' <"$log" |
    sed -n 's/^EXECMOND-KERNEL-CASE: \([^ ]*\) storage=\([^ ]*\) scripts=\([^ ]*\) .*/\1: storage=\2 scripts=\3/p' |
    paste -sd, - | sed 's/,/, /g')
  if [[ -z $line ]]; then
    if [[ $boot_status == 124 || $boot_status == 137 ]]; then
      verdict="FAIL: no result within ${BOOT_TIMEOUT}s"
    else
      verdict="FAIL: no result (qemu exited with $boot_status)"
    fi
  else
    verdict=${line#EXECMOND-KERNEL-TEST: }
  fi
  if [[ $verdict == PASS* ]]; then
    status=PASS
  else
    status=FAIL
    failures=$((failures + 1))
    echo "run-kernel-tests: $name failed; the end of its serial log (debug lines left out):" >&2
    tr -d '\r' <"$log" | grep -vE '^[0-9T:.+-]+ (debug|trace) ' | tail -n 200 |
      sed 's/^/    /' >&2
  fi
  rows+=("$name|$(cut -d' ' -f2 "$kernel/package")|$status|${detail:-$verdict}|${elapsed}s")
  if [[ $status == FAIL && -n $detail ]]; then rows+=("|||$verdict|"); fi
done <"$KERNEL_LIST"

[[ $tested -gt 0 ]] || die "no kernel in kernels.list matches --kernels $only_kernels"
echo
{
  echo "kernel|package version|result|detail|time"
  printf '%s\n' "${rows[@]}"
} | awk -F'|' '{ printf "%-7s %-16s %-6s %-6s %s\n", $1, $2, $3, $5, $4 }'
echo
echo "serial logs: $out_dir"
echo "kernels: $((tested - failures)) passed, $failures failed"
[[ $failures -eq 0 ]]

#!/usr/bin/python3
"""What kernel.bpf_stats_enabled=1 costs each BPF program run: a getppid() loop with a
one-line bpftrace program on it, alternating the sysctl off and on.

    bpf-stats-cost.py BUILD_DIR [--rounds N]

Root, bpftrace; N pairs of short runs (about a second each pair), back to back. The difference in ns per getppid() is what the
kernel's timing adds to one run of one program (two clock reads and a per-CPU update),
which every program on the host pays while the statistics are on. Restores the sysctl.
A figure, not a test: execmond quotes it when the statistics are off (the systemd unit
has no CAP_SYS_ADMIN to turn them on for its own programs).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

BPF_STATS = "/proc/sys/kernel/bpf_stats_enabled"
PROGRAM = "tracepoint:syscalls:sys_enter_getppid { @calls = count(); }"


def ns_per_call(tax):
    return float(subprocess.run([tax, "200000", "3"], capture_output=True, text=True,
                                check=True).stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    tax = os.path.join(os.path.abspath(args.build_dir), "tests", "benchmark", "syscall_tax")
    if not os.access(tax, os.X_OK) or not shutil.which("bpftrace"):
        sys.exit(f"needs {tax} (build the tests) and bpftrace")
    with open(BPF_STATS) as f:
        saved = f.read().strip()
    tracer = subprocess.Popen(["bpftrace", "-e", PROGRAM], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    off, on, differences = [], [], []
    try:
        time.sleep(3)  # attached
        assert tracer.poll() is None, "bpftrace exited"
        for _ in range(args.rounds):
            for enabled, results in (("0", off), ("1", on)):
                with open(BPF_STATS, "w") as f:
                    f.write(enabled)
                results.append(ns_per_call(tax))
            # Paired, back to back: slow changes of the machine's load cancel out.
            differences.append(on[-1] - off[-1])
    finally:
        with open(BPF_STATS, "w") as f:
            f.write(saved)
        tracer.terminate()
        tracer.wait()
    print(f"{args.rounds} pairs: getppid() median {statistics.median(off):.1f} ns with the "
          f"statistics off, {statistics.median(on):.1f} ns on; median paired difference "
          f"{statistics.median(differences):+.1f} ns per program run (quartiles "
          f"{statistics.quantiles(differences, n=4)[0]:+.1f} to "
          f"{statistics.quantiles(differences, n=4)[2]:+.1f})")


if __name__ == "__main__":
    main()

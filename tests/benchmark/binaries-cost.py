#!/usr/bin/python3
"""What judging binaries costs the host, side by side in one run: BPF ns per exec+exit
(every program the monitor holds, from bpf_stats) during an exec storm, for

  off         execmond without a binaries section;
  allowed     the shipped allow-list, the storm's binary allowed (one verdict lookup);
  cached      the shipped allow-list, the storm's binary unexpected with its verdict in
              the kernel's cache (the exec record also carries the parent and the ids);
  uncached    the same without a verdict (a path walk and a binary record, which wakes
              the reader, at every exec: what a daemon that caches no unexpected verdict
              pays);
  bpftrace    the one-liner counting execs and exits by comm (peers.py).

    binaries-cost.py BUILD_DIR [--seconds S] [--rounds N] [--only NAME]...
                     [--baseline EXECMOND]

--baseline adds another build's execmond (say, the previous release) without a binaries
section and with the allow-list, its storm allowed and unexpected, as base-off,
base-allowed and base-unexpected.

Root; about 5 x S x N seconds plus start-ups. Rounds interleave the monitors, so a
change of the machine's load hits all of them alike; the medians and the ratios are
what to quote. Turns kernel.bpf_stats_enabled on for the runs and restores it. A
figure, not a test.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

import peers

BPF_STATS = "/proc/sys/kernel/bpf_stats_enabled"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_time(prog_ids):
    """Total run time (ns) of these programs."""
    shown = json.loads(subprocess.run(["bpftool", "prog", "show", "--json"], check=True,
                                      capture_output=True, text=True).stdout)
    return sum(p.get("run_time_ns", 0) for p in shown if p["id"] in prog_ids)


class Monitor:
    """execmond with a configuration (and a verdict to seed), or bpftrace."""

    def __init__(self, binary, workdir, name, config, seed, storm_exe):
        self.log_path = os.path.join(workdir, f"{name}.log")
        log = open(self.log_path, "w")
        if config is None:
            argv = ["bpftrace", "-e", peers.BPFTRACE_ONE_LINER]
        else:
            config_path = os.path.join(workdir, f"{name}.yaml")
            with open(config_path, "w") as f:
                f.write(config)
            argv = [binary, "--config", config_path, "--listen", f"127.0.0.1:{free_port()}"]
        self.process = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, open(self.log_path).read()
            assert time.monotonic() < deadline, f"{name} did not attach"
            ids = peers.held_program_ids(self.process.pid)
            if ids and (config is None or "ready:" in open(self.log_path).read()):
                break
            time.sleep(0.1)
        time.sleep(0.5)  # bpftrace attaches after loading
        self.prog_ids = peers.held_program_ids(self.process.pid)
        if seed is not None:
            peers.seed_verdict(self.process.pid, [storm_exe], seed)

    def stop(self):
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def storm(build, exe, *args):
    out = subprocess.run([os.path.join(build, "tests", "benchmark", "exec_storm"), "--exe", exe,
                          *args], check=True, capture_output=True, text=True).stdout
    return int(dict(line.split(None, 1) for line in out.splitlines())["execs"])


def measure(build, binary, workdir, name, config, seed, exe, seconds):
    monitor = Monitor(binary, workdir, name, config, seed, exe)
    try:
        storm(build, exe, "--workers", "1", "--count", "200")  # warm: verdicts written
        before = run_time(monitor.prog_ids)
        execs = storm(build, exe, "--workers", "2", "--seconds", str(seconds))
        return (run_time(monitor.prog_ids) - before) / max(1, execs), execs
    finally:
        monitor.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir")
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--baseline", help="another build's execmond binary to compare")
    args = parser.parse_args()
    build = os.path.abspath(args.build_dir)
    workdir = tempfile.mkdtemp(prefix="binaries-cost-")
    exe = os.path.join(workdir, "bcstorm")
    shutil.copy(os.path.join(build, "tests", "benchmark", "true_exit"), exe)
    shipped = ", ".join(f'"{p}"' for p in peers.SHIPPED_ALLOW_LIST)
    execmond = os.path.join(build, "daemon", "execmond")
    off = "log_level: info\n"
    allowed = f'log_level: info\nbinaries:\n  allow: ["{workdir}/*", {shipped}]\n'
    unexpected = f'log_level: info\nbinaries:\n  allow: [{shipped}]\n'
    monitors = {  # name: (binary, configuration or None for bpftrace, verdict to seed)
        "off": (execmond, off, None),
        "allowed": (execmond, allowed, None),
        "cached": (execmond, unexpected, peers.UNEXPECTED),
        "uncached": (execmond, unexpected, None),
        "bpftrace": (None, None, None),
    }
    if args.baseline:
        baseline = os.path.join(workdir, "execmond-baseline")
        shutil.copy(args.baseline, baseline)
        monitors.update({"base-off": (baseline, off, None),
                         "base-allowed": (baseline, allowed, None),
                         "base-unexpected": (baseline, unexpected, None)})
    if args.only:
        monitors = {k: v for k, v in monitors.items() if k in args.only}
    with open(BPF_STATS) as f:
        saved = f.read().strip()
    results = {name: [] for name in monitors}
    try:
        with open(BPF_STATS, "w") as f:
            f.write("1")
        for _ in range(args.rounds):
            for name, (binary, config, seed) in monitors.items():
                ns, execs = measure(build, binary, workdir, name, config, seed, exe,
                                    args.seconds)
                results[name].append(ns)
                print(f"{name:15} {ns:8.0f} ns per exec+exit over {execs} execs", flush=True)
    finally:
        with open(BPF_STATS, "w") as f:
            f.write(saved)
        shutil.rmtree(workdir)
    medians = {name: statistics.median(values) for name, values in results.items()}
    print()
    for name, median in medians.items():
        values = ", ".join(f"{v:.0f}" for v in results[name])
        print(f"median {name:15} {median:8.0f} ns per exec+exit  ({values})")
    if "allowed" in medians:
        for name in ("cached", "uncached", "off", "bpftrace"):
            if name in medians:
                print(f"{name} / allowed: {medians[name] / medians['allowed']:.2f}x")
    if "base-allowed" in medians and "base-unexpected" in medians:
        print(f"baseline unexpected / baseline allowed: "
              f"{medians['base-unexpected'] / medians['base-allowed']:.2f}x")
    if "bpftrace" in medians and "off" in medians:
        print(f"off / bpftrace: {medians['off'] / medians['bpftrace']:.2f}x")


if __name__ == "__main__":
    main()

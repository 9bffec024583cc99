#!/usr/bin/python3
"""What resolving binaries costs handle_exec: BPF ns per exec with the feature off, on
with the storm's binary allowed (the kernel cache answers), and on with it unexpected
(a path resolved and a binary record sent at every exec).

    binaries-cost.py BUILD_DIR [--seconds S] [--rounds N]

Root; about 3 x S x N seconds. Turns kernel.bpf_stats_enabled on for the runs and
restores it. A figure, not a test.
"""

import argparse
import glob
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

BPF_STATS = "/proc/sys/kernel/bpf_stats_enabled"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def held_programs(pid):
    ids = set()
    for fdinfo in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            with open(fdinfo) as f:
                ids.update(int(l.split()[1]) for l in f if l.startswith("prog_id:"))
        except OSError:
            pass
    return ids


def exec_program_stats(pid):
    shown = json.loads(subprocess.run(["bpftool", "prog", "show", "--json"], check=True,
                                      capture_output=True, text=True).stdout)
    held = held_programs(pid)
    for p in shown:
        if p["id"] in held and p.get("name", "").startswith("handle_exec") and \
                p.get("name") in ("handle_exec", "handle_exec_wit"):
            return p.get("run_time_ns", 0), p.get("run_cnt", 0)
    raise RuntimeError("the daemon's handle_exec is not loaded")


def measure(build, workdir, config, storm_exe, seconds):
    config_path = os.path.join(workdir, "config.yaml")
    with open(config_path, "w") as f:
        f.write(config)
    log = open(os.path.join(workdir, "daemon.log"), "w")
    daemon = subprocess.Popen([os.path.join(build, "daemon", "execmond"), "--config", config_path,
                               "--listen", f"127.0.0.1:{free_port()}"], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while "ready:" not in open(log.name).read():
            assert daemon.poll() is None and time.monotonic() < deadline, open(log.name).read()
            time.sleep(0.05)
        storm = os.path.join(build, "tests", "benchmark", "exec_storm")
        subprocess.run([storm, "--exe", storm_exe, "--workers", "1", "--count", "200"],
                       check=True, capture_output=True)  # warm: the cache is filled
        time0, runs0 = exec_program_stats(daemon.pid)
        subprocess.run([storm, "--exe", storm_exe, "--workers", "2", "--seconds", str(seconds)],
                       check=True, capture_output=True)
        time1, runs1 = exec_program_stats(daemon.pid)
        return (time1 - time0) / max(1, runs1 - runs0), runs1 - runs0
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
        log.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir")
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    build = os.path.abspath(args.build_dir)
    workdir = tempfile.mkdtemp(prefix="binaries-cost-")
    exe = os.path.join(workdir, "bcstorm")
    shutil.copy(os.path.join(build, "tests", "benchmark", "true_exit"), exe)
    configs = {
        "off": "log_level: info\n",
        "allowed": f'log_level: info\nbinaries:\n  allow: ["{workdir}/*", "/usr/**"]\n',
        "unexpected": 'log_level: info\nbinaries:\n  allow: ["/usr/**"]\n',
    }
    with open(BPF_STATS) as f:
        saved = f.read().strip()
    results = {name: [] for name in configs}
    try:
        with open(BPF_STATS, "w") as f:
            f.write("1")
        for _ in range(args.rounds):
            for name, config in configs.items():
                ns, runs = measure(build, workdir, config, exe, args.seconds)
                results[name].append(ns)
                print(f"{name:10} {ns:7.0f} ns/exec over {runs} execs", flush=True)
    finally:
        with open(BPF_STATS, "w") as f:
            f.write(saved)
        shutil.rmtree(workdir)
    off = statistics.median(results["off"])
    for name, values in results.items():
        median = statistics.median(values)
        print(f"median {name:10} {median:7.0f} ns/exec  ({median - off:+.0f} ns vs off)")


if __name__ == "__main__":
    main()

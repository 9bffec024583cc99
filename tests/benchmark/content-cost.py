#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What content identity (issue 14) costs: prints figures, not a test.

    content-cost.py BUILD_DIR [--files N] [--large-mb M]

As root (it runs the daemon, real BPF). Three measurements:
  1. content_cost: the dpkg database's load (files, CPU, memory) and the digests'
     throughput (SHA-256 and MD5 in one read, no budget);
  2. a storm of N distinct new files (default 1,000), each run once, each admitted only
     by a sha256: entry so that every verdict waits for its own digest: the daemon's CPU
     (all threads, from /proc/PID/task/*/schedstat) and the hash worker's own, from the
     first exec until the last verdict is in; the time that takes; exact counts;
  3. one M MB binary (default 100): how long its digest takes within the budget, and
     the scrape latency meanwhile (p50 and max of a scrape every 50 ms).
"""

import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import yaml
from prometheus_client.parser import text_string_to_metric_families

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, binary, config, work):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        path = os.path.join(work, "execmond.yaml")
        with open(path, "w") as f:
            f.write(config)
        self.log = open(os.path.join(work, "execmond.log"), "w")
        self.proc = subprocess.Popen([binary, "--config", path, "--listen",
                                      f"127.0.0.1:{self.port}"], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.get("execmond_package_database_loads_total") >= 1:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("the daemon did not start and load the package database")

    def samples(self):
        with urllib.request.urlopen(self.url, timeout=30) as response:
            text = response.read().decode()
        found = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return found

    def get(self, name, **labels):
        return self.samples().get((name, tuple(sorted(labels.items()))), 0.0)

    def cpu_seconds(self):
        total = 0
        for task in os.listdir(f"/proc/{self.proc.pid}/task"):
            try:
                with open(f"/proc/{self.proc.pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[0])
            except OSError:
                pass
        return total / 1e9

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def settled(samples):
    return all(samples.get(("execmond_content_verdicts_waiting", (("for", w),)), 1) == 0
               for w in ("hash", "package_manager"))


def program(true_exit, marker):
    with open(true_exit, "rb") as f:
        return f.read() + b"\0execmond-content-cost " + marker.encode() + b"\n"


def config(extra_allow):
    with open(os.path.join(SOURCE, "config", "execmond.yaml")) as f:
        binaries = yaml.safe_load(f)["binaries"]
    allow = binaries["allow"] + extra_allow
    return ("binaries:\n  packaged: true\n  allow:\n" +
            "".join(f'    - "{p}"\n' for p in allow))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build_dir")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--large-mb", type=int, default=100)
    args = parser.parse_args()
    build = os.path.abspath(args.build_dir)
    binary = os.path.join(build, "daemon", "execmond")
    true_exit = os.path.join(build, "tests", "benchmark", "true_exit")

    print("== 1. content_cost (this host's dpkg database; the digests' throughput)")
    subprocess.run([os.path.join(build, "tests", "benchmark", "content_cost"), "--root", "/"],
                   check=True)

    work = tempfile.mkdtemp(prefix="execmond-content-cost-", dir="/var/tmp")
    try:
        small = program(true_exit, "storm")
        large = os.path.join(work, "xmlarge")
        with open(large, "wb") as f:
            f.write(program(true_exit, "large"))
            block = os.urandom(1 << 20)
            for _ in range(args.large_mb):
                f.write(block)
        os.chmod(large, 0o755)
        with open(large, "rb") as f:
            large_digest = hashlib.sha256(f.read()).hexdigest()
        d = Daemon(binary, config([f"sha256:{hashlib.sha256(small).hexdigest()}",
                                   f"sha256:{large_digest}"]), work)
        try:
            paths = []
            for i in range(args.files):
                directory = os.path.join(work, "storm", str(i))
                os.makedirs(directory)
                path = os.path.join(directory, "xmstorm")
                with open(path, "wb") as f:
                    f.write(small)
                os.chmod(path, 0o755)
                paths.append(path)
            time.sleep(0.1)

            print(f"\n== 2. a storm of {args.files} distinct new files, each verdict waiting for"
                  " its digest")
            before = d.samples()
            cpu_before = d.cpu_seconds()
            started = time.monotonic()
            for path in paths:
                subprocess.run([path], check=True)
            ran = time.monotonic() - started
            while True:
                now = d.samples()
                if now.get(("execmond_execs_total", (("comm", "xmstorm"),)), 0) >= args.files \
                        and settled(now):
                    break
                if time.monotonic() - started > 300:
                    raise SystemExit("verdicts still waiting after 300 s")
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            cpu = d.cpu_seconds() - cpu_before
            key = lambda name: (name, ())
            hashed = now[key("execmond_content_hashes_total")] - before[key("execmond_content_hashes_total")]
            worker_cpu = (now[key("execmond_content_hash_cpu_seconds_total")] -
                          before[key("execmond_content_hash_cpu_seconds_total")])
            execs = now.get(("execmond_execs_total", (("comm", "xmstorm"),)), 0)
            print(f"execs counted: {execs:.0f} of {args.files}; digests: {hashed:.0f} (the host's "
                  f"other execs included); execs took {ran:.1f} s, every verdict in after "
                  f"{elapsed:.1f} s")
            print(f"daemon CPU, all threads, first exec to last verdict: {cpu * 1000:.0f} ms "
                  f"({cpu / args.files * 1e6:.0f} us per new file); hash worker: "
                  f"{worker_cpu * 1000:.0f} ms")

            print(f"\n== 3. one {args.large_mb} MB binary: its digest within the budget, "
                  "scrapes meanwhile")
            latencies = []
            done = threading.Event()

            def scrape_all_along():
                while not done.is_set():
                    t = time.monotonic()
                    with urllib.request.urlopen(d.url, timeout=30) as response:
                        response.read()
                    latencies.append(time.monotonic() - t)
                    time.sleep(0.05)

            scraper = threading.Thread(target=scrape_all_along)
            scraper.start()
            before = d.samples()
            started = time.monotonic()
            subprocess.run([large], check=True)
            while True:
                now = d.samples()
                if now.get(("execmond_execs_total", (("comm", "xmlarge"),)), 0) >= 1 and settled(now):
                    break
                if time.monotonic() - started > 300:
                    raise SystemExit("the large file's verdict still waits after 300 s")
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            done.set()
            scraper.join()
            read = now[key("execmond_content_hashed_bytes_total")] - before[key("execmond_content_hashed_bytes_total")]
            throttled = (now[key("execmond_content_hash_throttled_seconds_total")] -
                         before[key("execmond_content_hash_throttled_seconds_total")])
            print(f"its verdict came {elapsed:.2f} s after the exec ({read / 1e6:.0f} MB read, "
                  f"{read / 1e6 / elapsed:.0f} MB/s within the budget; the worker slept "
                  f"{throttled:.2f} s to keep to it)")
            print(f"scrapes meanwhile: {len(latencies)}, p50 {statistics.median(latencies) * 1000:.0f}"
                  f" ms, max {max(latencies) * 1000:.0f} ms")
            unexpected = [k for k in now if k[0] == "execmond_unexpected_execs_total" and
                          dict(k[1]).get("path", "").startswith(work)]
            print(f"unexpected series of these files: {len(unexpected)}")
        finally:
            d.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("run as root: it loads BPF programs")
    main()

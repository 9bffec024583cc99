#!/usr/bin/python3
"""The scrape-load benchmark: how /metrics holds up under many scrapes and bad clients.

    scrape-load.py BUILD_DIR [--names N] [--scrapes N] [--rounds N]

Runs as root (it starts the daemon, which loads BPF programs), about a minute. Starts
execmond with max_comm_series: 10000, fills N process names (default 10000) by exec'ing
the benchmark's static true_exit under N symlink names, then:
  1. one scrape, plain and gzip: render time and sizes;
  2. --scrapes parallel gzip scrapes (default 200), all released at once, --rounds times:
     p50, p99 and max latency of each scrape, from its connect to its last byte;
  3. slowloris: 200 connections holding half a request and 200 idle ones, then 5 scrapes
     in a row: the latency of each (given up after 10 s).
Prints figures; it is not a test with a time limit. Exits non-zero only when it could not
measure.
"""

import argparse
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# A scrape behind slowloris connections is given this long.
SLOWLORIS_TIMEOUT = 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daemon(binary, workdir, port):
    config = os.path.join(workdir, "execmond.yaml")
    with open(config, "w") as f:
        f.write("max_comm_series: 10000\n")
    log = open(os.path.join(workdir, "execmond.log"), "w+")
    proc = subprocess.Popen([binary, "--config", config, "--listen", f"127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log.seek(0)
        if "ready:" in log.read():
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    log.seek(0)
    sys.exit(f"execmond did not start:\n{log.read()}")


def fill_names(program, workdir, count):
    """Execs `program` under `count` distinct names, a few at a time."""
    names_dir = os.path.join(workdir, "names")
    os.mkdir(names_dir)
    tag = os.urandom(3).hex()
    paths = []
    for i in range(count):
        path = os.path.join(names_dir, f"s{tag}{i:05d}")  # 12 bytes: within comm's 15
        os.symlink(program, path)
        paths.append(path)
    running = []
    for path in paths:
        running.append(subprocess.Popen([path]))
        if len(running) >= 64:
            for p in running:
                p.wait()
            running = []
    for p in running:
        p.wait()
    return tag


def scrape(port, gzip=True, timeout=60):
    """(seconds from connect to last byte, body bytes)."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"} if gzip else {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"scrape answered {response.status}")
    return time.monotonic() - start, len(body)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def parallel_scrapes(port, count):
    barrier = threading.Barrier(count)
    latencies = [None] * count
    errors = []

    def one(i):
        barrier.wait()
        try:
            latencies[i] = scrape(port)[0]
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [s for s in latencies if s is not None], errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("build_dir")
    parser.add_argument("--names", type=int, default=10000)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    binary = os.path.join(args.build_dir, "daemon", "execmond")
    program = os.path.abspath(os.path.join(args.build_dir, "tests", "benchmark", "true_exit"))
    for path in (binary, program):
        if not os.access(path, os.X_OK):
            sys.exit(f"missing {path}: build first")
    if os.geteuid() != 0:
        sys.exit("run as root: the daemon loads BPF programs")

    workdir = tempfile.mkdtemp(prefix="execmond-scrape-load-")
    port = free_port()
    proc = start_daemon(binary, workdir, port)
    try:
        start = time.monotonic()
        tag = fill_names(program, workdir, args.names)
        time.sleep(1)  # the reader drains every 200 ms
        seconds, plain_size = scrape(port, gzip=False)
        text = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        text.request("GET", "/metrics")
        body = text.getresponse().read().decode()
        names = sum(1 for line in body.splitlines()
                    if line.startswith(f'execmond_execs_total{{comm="s{tag}'))
        series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
        print(f"filled {names} names in {time.monotonic() - start:.1f} s; "
              f"the exposition has {series} series")
        if names < args.names:
            print(f"  (fewer than {args.names}: the overflow series took the rest)")
        gzip_seconds, gzip_size = scrape(port, gzip=True)
        print(f"one scrape: plain {seconds * 1000:.0f} ms, {plain_size / 1e6:.1f} MB; "
              f"gzip {gzip_seconds * 1000:.0f} ms, {gzip_size / 1e6:.2f} MB")

        for round_number in range(args.rounds):
            latencies, errors = parallel_scrapes(port, args.scrapes)
            figures = (f"p50 {statistics.median(latencies):.2f} s, "
                       f"p99 {percentile(latencies, 0.99):.2f} s, max {max(latencies):.2f} s"
                       if latencies else "none answered")
            failed = f"; {len(errors)} failed ({errors[0]})" if errors else ""
            print(f"{args.scrapes} parallel gzip scrapes, round {round_number + 1}: "
                  f"{figures}{failed}")

        held = []
        try:
            try:
                for i in range(400):
                    s = socket.create_connection(("127.0.0.1", port), timeout=10)
                    if i < 200:
                        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                    held.append(s)
            except OSError as error:
                print(f"slowloris: only {len(held)} connections accepted ({error})")
            results = []
            for _ in range(5):
                start = time.monotonic()
                try:
                    results.append(f"{scrape(port, timeout=SLOWLORIS_TIMEOUT)[0]:.2f} s")
                except Exception:
                    results.append(f"none in {time.monotonic() - start:.0f} s")
            print("slowloris (200 half-sent requests, 200 idle connections), 5 scrapes: "
                  + ", ".join(results))
        finally:
            for s in held:
                s.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The scrape-load benchmark: what a scrape costs execmond, and how /metrics holds up
under many scrapes and bad clients.

    scrape-load.py BUILD_DIR [--names 1000,10000] [--labels comm,comm+unit]
                   [--scrapes N] [--rounds N] [--compare OTHER_BUILD_DIR] [--no-slowloris]
                   [--budget FILE]

Runs as root (it starts the daemon, which loads BPF programs); about 2 minutes per
configuration. For each number of names and each `labels:` setting it starts execmond
with max_comm_series at least that many names, fills the names by exec'ing the
benchmark's static true_exit under that many symlink names, and prints:
  - series per name: in the text exposition (classic histogram), with
    lifetime_histogram: false, and as Prometheus stores them with native histograms;
  - idle RSS, then the peak RSS of one scrape of each kind (text, text gzip, protobuf
    gzip, protobuf; the first is the daemon's first scrape), each against idle
    (target: at most 1.25x), from VmHWM after resetting it (clear_refs);
  - the body sizes of each kind;
  - scrape CPU per series: the daemon's CPU time over 10 scrapes in a row, per series
    served;
  - --scrapes parallel gzip scrapes (default 200), all released at once, --rounds times
    (default 3): p50, p99 and max from connect to last byte (target: p99 < 2 s), and the
    peak RSS meanwhile.
Then, on the largest configuration, slowloris: 200 connections holding half a request
and 200 idle ones, and 5 scrapes in a row.

--compare runs the same configurations with another build (e.g. the one before a change)
and prints both side by side. --budget FILE writes this build's figures as JSON: the
measured series budget that deploy/budget.json holds, which the README's table, the
DaemonSet's resources and the scrape configuration's sample_limit are checked against
(tests/deploy). Figures, not a test: it exits non-zero only when it could
not measure.
"""

import argparse
import datetime
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from daemon_start import start_daemon as start_execmond

SLOWLORIS_TIMEOUT = 10  # a scrape behind slowloris connections is given this long
CLK_TCK = os.sysconf("SC_CLK_TCK")
PROTOBUF = ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
            "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3")
TARGET_PEAK_RATIO = 1.25
TARGET_P99_SECONDS = 2.0
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kib(pid):
    """VmRSS and VmHWM of a process, KiB."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def reset_peak(pid):
    """VmHWM starts again from the current RSS (Linux 4.0+)."""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def start_daemon(binary, workdir, port, max_series, labels):
    return start_execmond(binary, workdir, f"execmond-{port}",
                          f"max_comm_series: {max_series}\nlabels: [{', '.join(labels)}]\n",
                          port)


def fill_names(program, workdir, count):
    """Execs `program` under `count` distinct names, a few at a time; returns their prefix."""
    tag = os.urandom(3).hex()
    names_dir = os.path.join(workdir, f"names-{tag}")
    os.mkdir(names_dir)
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
    return f"s{tag}"


def scrape(port, gzip=True, accept=None, timeout=60):
    """(seconds from connect to last byte, body)."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {}
    if gzip:
        headers["Accept-Encoding"] = "gzip"
    if accept:
        headers["Accept"] = accept
    conn.request("GET", "/metrics", headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"scrape answered {response.status}")
    return time.monotonic() - start, body


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


def series_per_name(text, prefix, names):
    """Series per filled name: as served (classic), without the histogram, and as
    Prometheus stores them with native histograms (the histogram is one series)."""
    lines = [line for line in text.splitlines()
             if line and not line.startswith("#") and f'comm="{prefix}' in line]
    histogram = [line for line in lines
                 if line.split("{", 1)[0].endswith(HISTOGRAM_SUFFIXES)]
    histograms = {line.split("{", 1)[1].split(',le="')[0].split("}")[0] for line in histogram}
    classic = len(lines) / names
    return classic, (len(lines) - len(histogram)) / names, \
        (len(lines) - len(histogram) + len(histograms)) / names


class Figures(dict):
    """What one configuration measured, by key, for the side-by-side table."""


def measure(binary, program, workdir, names, labels, parallel, rounds):
    figures = Figures()
    port = free_port()
    # Room for the host's own names too, which execs of other processes bring meanwhile.
    proc = start_daemon(binary, workdir, port, min(10000, max(names + 256, 1000)), labels)
    pid = proc.pid
    try:
        start = time.monotonic()
        prefix = fill_names(program, workdir, names)
        figures["fill_seconds"] = time.monotonic() - start
        time.sleep(1.5)  # the reader drains every 200 ms
        figures["idle_kib"] = status_kib(pid)["VmRSS"]

        kinds = [("text", False, None), ("text gzip", True, None),
                 ("protobuf gzip", True, PROTOBUF), ("protobuf", False, PROTOBUF)]
        for name, gzip, accept in kinds:
            reset_peak(pid)
            seconds, body = scrape(port, gzip=gzip, accept=accept)
            figures[f"peak_kib {name}"] = status_kib(pid)["VmHWM"]
            figures[f"bytes {name}"] = len(body)
            figures[f"seconds {name}"] = seconds
            if name == "text":
                text = body.decode()
        figures["after_kib"] = status_kib(pid)["VmRSS"]
        filled = sum(1 for line in text.splitlines()
                     if line.startswith(f'execmond_execs_total{{comm="{prefix}'))
        figures["names"] = filled
        figures["series"] = sum(1 for line in text.splitlines() if line and line[0] != "#")
        figures["per_name classic"], figures["per_name no histogram"], \
            figures["per_name native"] = series_per_name(text, prefix, max(filled, 1))

        for name, accept in (("text gzip", None), ("protobuf gzip", PROTOBUF)):
            before = cpu_seconds(pid)
            for _ in range(10):
                scrape(port, gzip=True, accept=accept)
            figures[f"cpu_us_per_series {name}"] = \
                (cpu_seconds(pid) - before) / (10 * figures["series"]) * 1e6

        reset_peak(pid)
        rounds_figures = []
        for _ in range(rounds):
            latencies, errors = parallel_scrapes(port, parallel)
            rounds_figures.append((latencies, errors))
        figures["peak_kib parallel"] = status_kib(pid)["VmHWM"]
        figures["parallel"] = rounds_figures
        return figures, port, proc
    except BaseException:
        proc.terminate()
        proc.wait(timeout=30)
        raise


def slowloris(port):
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


def mib(kib):
    return f"{kib / 1024:.1f}"


def report(label, f):
    idle = f["idle_kib"]
    print(f"  {label}: {f['names']} names filled in {f['fill_seconds']:.1f} s, "
          f"{f['series']} series in the text exposition")
    print(f"    series per name: {f['per_name classic']:.1f} (text, classic histogram), "
          f"{f['per_name no histogram']:.1f} (lifetime_histogram: false), "
          f"{f['per_name native']:.1f} (Prometheus with native histograms)")
    print(f"    idle RSS {mib(idle)} MiB; after the scrapes {mib(f['after_kib'])} MiB")
    for kind in ("text", "text gzip", "protobuf gzip", "protobuf"):
        peak = f[f"peak_kib {kind}"]
        ratio = peak / idle
        print(f"    {kind:<14} {f[f'bytes {kind}'] / 1e6:7.2f} MB in "
              f"{f[f'seconds {kind}'] * 1000:5.0f} ms; peak RSS {mib(peak)} MiB = "
              f"{ratio:.3f}x idle {'(met)' if ratio <= TARGET_PEAK_RATIO else '(MISSED)'}")
    for kind in ("text gzip", "protobuf gzip"):
        print(f"    scrape CPU, {kind}: {f[f'cpu_us_per_series {kind}']:.3f} us per series")
    for i, (latencies, errors) in enumerate(f["parallel"]):
        figures = (f"p50 {statistics.median(latencies):.2f} s, "
                   f"p99 {percentile(latencies, 0.99):.2f} s, max {max(latencies):.2f} s"
                   if latencies else "none answered")
        met = latencies and not errors and percentile(latencies, 0.99) < TARGET_P99_SECONDS
        failed = f"; {len(errors)} failed ({errors[0]})" if errors else ""
        print(f"    {len(latencies) + len(errors)} parallel gzip scrapes, round {i + 1}: "
              f"{figures}{failed} {'(met)' if met else '(MISSED)'}")
    print(f"    peak RSS during the parallel scrapes {mib(f['peak_kib parallel'])} MiB = "
          f"{f['peak_kib parallel'] / idle:.3f}x idle")


def machine():
    with open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")),
                     "unknown CPU")
    return f"{os.cpu_count()} x {model}, Linux {os.uname().release}"


def budget_entry(names, labels, f):
    """What deploy/budget.json records of one configuration."""
    kinds = ("text", "text gzip", "protobuf gzip", "protobuf")
    latencies = [x for latencies, _ in f["parallel"] for x in latencies]
    return {
        "names": names,
        "labels": labels,
        "series_per_name": {"classic": round(f["per_name classic"], 2),
                            "lifetime_histogram_false": round(f["per_name no histogram"], 2),
                            "native": round(f["per_name native"], 2)},
        "idle_rss_mib": round(f["idle_kib"] / 1024, 1),
        "peak_rss_mib": round(max([f[f"peak_kib {k}"] for k in kinds] +
                                  [f["peak_kib parallel"]]) / 1024, 1),
        "rss_after_scrapes_mib": round(f["after_kib"] / 1024, 1),
        "scrape_mb": {k.replace(" ", "_"): round(f[f"bytes {k}"] / 1e6, 2) for k in kinds},
        "scrape_cpu_us_per_series": round(f["cpu_us_per_series text gzip"], 3),
        "parallel_gzip_p99_s": round(percentile(latencies, 0.99), 2) if latencies else None,
    }


def side_by_side(label, ours, theirs):
    rows = [("idle RSS MiB", mib(ours["idle_kib"]), mib(theirs["idle_kib"]))]
    for kind in ("text", "text gzip", "protobuf gzip"):
        rows.append((f"peak/idle, one {kind} scrape",
                     f"{ours[f'peak_kib {kind}'] / ours['idle_kib']:.3f}",
                     f"{theirs[f'peak_kib {kind}'] / theirs['idle_kib']:.3f}"))
    rows.append(("peak/idle, parallel gzip", f"{ours['peak_kib parallel'] / ours['idle_kib']:.3f}",
                 f"{theirs['peak_kib parallel'] / theirs['idle_kib']:.3f}"))
    rows.append(("scrape CPU us/series (gzip)", f"{ours['cpu_us_per_series text gzip']:.3f}",
                 f"{theirs['cpu_us_per_series text gzip']:.3f}"))
    p99 = [percentile([x for r in f["parallel"] for x in r[0]], 0.99)
           if any(r[0] for r in f["parallel"]) else float("nan") for f in (ours, theirs)]
    rows.append(("parallel gzip p99 s", f"{p99[0]:.2f}", f"{p99[1]:.2f}"))
    print(f"  {label}: this build | compared build")
    for name, a, b in rows:
        print(f"    {name:<30} {a:>9} | {b:>9}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("build_dir")
    parser.add_argument("--names", default="1000,10000")
    parser.add_argument("--labels", default="comm,comm+unit")
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", help="another build directory, measured the same way")
    parser.add_argument("--no-slowloris", action="store_true")
    parser.add_argument("--budget", help="write this build's figures to FILE (JSON)")
    args = parser.parse_args()
    builds = [args.build_dir] + ([args.compare] if args.compare else [])
    binaries = [os.path.join(b, "daemon", "execmond") for b in builds]
    program = os.path.abspath(os.path.join(args.build_dir, "tests", "benchmark", "true_exit"))
    for path in binaries + [program]:
        if not os.access(path, os.X_OK):
            sys.exit(f"missing {path}: build first")
    if os.geteuid() != 0:
        sys.exit("run as root: the daemon loads BPF programs")

    workdir = tempfile.mkdtemp(prefix="execmond-scrape-load-")
    budget = []
    try:
        configurations = [(int(n), labels.split("+"))
                          for labels in args.labels.split(",") for n in args.names.split(",")]
        for index, (names, labels) in enumerate(configurations):
            label = f"{names} names, labels: [{', '.join(labels)}]"
            results = []
            for which, binary in enumerate(binaries):
                figures, port, proc = measure(binary, program, workdir, names, labels,
                                              args.scrapes, args.rounds)
                try:
                    report(label + (" (compared build)" if which else ""), figures)
                    last = index == len(configurations) - 1
                    if last and which == 0 and not args.no_slowloris:
                        slowloris(port)
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                results.append(figures)
            budget.append(budget_entry(names, labels, results[0]))
            if len(results) == 2:
                side_by_side(label, *results)
            sys.stdout.flush()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.budget:
        with open(args.budget, "w") as f:
            json.dump({"measured": datetime.date.today().isoformat(), "machine": machine(),
                       "configurations": budget}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()

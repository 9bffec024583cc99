#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The endpoint-attacks benchmark: what hostile clients cost execmond, and what they do to
the scrapes of everyone else.

    endpoint-attacks.py BUILD_DIR [--names N] [--attack-seconds S] [--compare OTHER_BUILD_DIR]

Runs as root (it starts the daemon, which loads BPF programs), a few minutes. Starts
execmond with max_comm_series at least N, fills N process names (default 1000, the
default max_comm_series) by exec'ing the benchmark's static true_exit under N symlink
names, then, for each attack, prints RSS (idle, peak, after) and the p50/p99 of scrapes
made during it from 127.0.0.1 while tests/integration/endpoint_flood.py attacks from
127.0.0.2:
  1. 100 clients pipelining requests on one connection each (issue 17, item 0);
  2. 100 slow readers with a 4 KiB receive buffer, staggered so that they read different
     renders, with the kernel send queues they fill (issue 18, item 1);
  3. 40 connections of wrong passwords against basic auth (cost 10), a SIGHUP halfway,
     the scraper having verified before (issue 18, item 2);
  4. full TLS handshakes (RSA 2048) from 8 threads of one address (issue 18, item 4).
With --compare, a second execmond (e.g. main's build) counts the same names and gets the
same attacks right after the first: both are printed side by side, the machine's load at
the time weighing on both alike. Figures, not a test: it exits non-zero only when it
could not measure.
"""

import argparse
import base64
import http.client
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

from daemon_start import start_daemon as start_execmond

with warnings.catch_warnings():
    # Deprecated, but in Debian 12's Python and the simplest way to make a bcrypt hash.
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daemon(binary, workdir, port, tag, names):
    return start_execmond(binary, workdir, f"execmond{tag}",
                          f"max_comm_series: {max(1000, names)}\n", port)


def fill_names(program, workdir, count):
    """Execs `program` under `count` distinct names, 64 at a time."""
    names_dir = os.path.join(workdir, "names")
    os.mkdir(names_dir)
    tag = os.urandom(3).hex()
    running = []
    for i in range(count):
        path = os.path.join(names_dir, f"a{tag}{i:05d}")  # 12 bytes: within comm's 15
        os.symlink(program, path)
        running.append(subprocess.Popen([path]))
        if len(running) >= 64:
            for p in running:
                p.wait()
            running = []
    for p in running:
        p.wait()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


FLOOD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration",
                     "endpoint_flood.py")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def send_queues_mb(port):
    """What the kernel holds in the send queues of connections to `port` (ss's w)."""
    out = subprocess.run(["ss", "-tmnH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    total = 0
    for field in out.replace("(", ",").replace(")", ",").split(","):
        if field.startswith("w") and field[1:].isdigit():
            total += int(field[1:])
    return total / 1e6


class Daemon:
    """One execmond under attack: its process, port, configuration and log."""

    def __init__(self, name, binary, workdir, tag, names):
        self.name = name
        self.names = names
        self.port = free_port()
        self.tag = tag
        self.workdir = workdir
        self.proc = start_daemon(binary, workdir, self.port, tag, names)
        self.config = os.path.join(workdir, f"execmond{tag}.yaml")
        self.log = os.path.join(workdir, f"execmond{tag}.log")

    def use_web_config(self, text):
        """Rewrites the web configuration and reloads (SIGHUP), waiting for the reload."""
        web = os.path.join(self.workdir, f"web{self.tag}.yml")
        with open(web, "w") as f:
            f.write(text)
        with open(self.config, "w") as f:
            f.write(f"max_comm_series: {max(1000, self.names)}\nweb_config_file: {web}\n")
        self.sighup()

    def sighup(self):
        with open(self.log) as f:
            before = len(f.read())
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(self.log) as f:
                after = f.read()[before:]
            if "reloaded" in after or "reload failed" in after:
                return
            time.sleep(0.05)


def attack_scrape(port, headers=None, context=None, timeout=10):
    """(status or None, seconds) of one scrape on a new connection."""
    start = time.monotonic()
    try:
        if context:
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                               context=context)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip", **(headers or {})})
        response = conn.getresponse()
        response.read()
        conn.close()
        return response.status, time.monotonic() - start
    except Exception:
        return None, time.monotonic() - start


def under_attack(daemon, mode, clients, seconds, headers=None, context=None, midway=None,
                 stagger=0.0):
    """Runs `mode` from 127.0.0.2 while scraping from 127.0.0.1: a dict of figures."""
    time.sleep(1)
    idle = rss_mb(daemon.proc.pid)
    flood = subprocess.Popen([sys.executable, FLOOD, mode, "--port", str(daemon.port),
                              "--clients", str(clients), "--stagger", str(stagger)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak_rss, peak_queues, results = idle, 0.0, []
    start = time.monotonic()
    halfway_done = midway is None
    try:
        time.sleep(1)
        while time.monotonic() - start < seconds:
            if not halfway_done and time.monotonic() - start > seconds / 2:
                midway()
                halfway_done = True
            results.append(attack_scrape(daemon.port, headers, context))
            peak_rss = max(peak_rss, rss_mb(daemon.proc.pid))
            peak_queues = max(peak_queues, send_queues_mb(daemon.port))
            time.sleep(0.2)
    finally:
        flood.send_signal(signal.SIGTERM)
        flood.communicate(timeout=30)
    time.sleep(2)
    latencies = [t for status, t in results if status == 200]
    return {"answered": f"{len(latencies)}/{len(results)}",
            "p50": statistics.median(latencies) if latencies else float("nan"),
            "p99": percentile(latencies, 0.99) if latencies else float("nan"),
            "idle": idle, "peak": peak_rss, "after": rss_mb(daemon.proc.pid),
            "queues": peak_queues}


def print_attack(title, figures):
    print(title)
    for name, f in figures.items():
        print(f"  {name:>9}: {f['answered']} scrapes answered, p50 {f['p50']:.2f} s, "
              f"p99 {f['p99']:.2f} s; RSS idle {f['idle']:.0f} MB, peak {f['peak']:.0f} MB "
              f"({f['peak'] / f['idle']:.2f}x), after {f['after']:.0f} MB; kernel send queues "
              f"peak {f['queues']:.1f} MB")


def make_certificate(workdir):
    key, crt = os.path.join(workdir, "tls.key"), os.path.join(workdir, "tls.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=scrape-load", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", crt], check=True, capture_output=True)
    return key, crt


def attacks(daemons, workdir, seconds):
    figures = {d.name: under_attack(d, "pipeline", 100, seconds) for d in daemons}
    print_attack("1. 100 clients pipelining requests (issue 17.0):", figures)
    figures = {d.name: under_attack(d, "slowread", 100, seconds, stagger=0.1) for d in daemons}
    print_attack("2. 100 slow readers, 4 KiB receive buffer (issue 18.1):", figures)

    password = crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2 ** 10))
    good = {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret").decode()}
    figures = {}
    for d in daemons:
        d.use_web_config(f"basic_auth_users:\n  alice: '{password}'\n")
        attack_scrape(d.port, good)  # the scraper verified before the flood
        figures[d.name] = under_attack(d, "password", 40, seconds, headers=good, midway=d.sighup)
    print_attack("3. 40 connections of wrong passwords, SIGHUP halfway (issue 18.2):", figures)

    key, crt = make_certificate(workdir)
    context = ssl.create_default_context(cafile=crt)
    figures = {}
    for d in daemons:
        d.use_web_config(f"tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n")
        figures[d.name] = under_attack(d, "handshake", 8, seconds, context=context)
    print_attack("4. full TLS handshakes from 8 threads of one address (issue 18.4):", figures)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("build_dir")
    parser.add_argument("--names", type=int, default=1000)
    parser.add_argument("--attack-seconds", type=float, default=15)
    parser.add_argument("--compare", help="another build directory, attacked the same way")
    args = parser.parse_args()
    builds = [("this", args.build_dir)] + ([("compared", args.compare)] if args.compare else [])
    program = os.path.abspath(os.path.join(args.build_dir, "tests", "benchmark", "true_exit"))
    for path in [os.path.join(b, "daemon", "execmond") for _, b in builds] + [program]:
        if not os.access(path, os.X_OK):
            sys.exit(f"missing {path}: build first")
    if os.geteuid() != 0:
        sys.exit("run as root: the daemon loads BPF programs")

    workdir = tempfile.mkdtemp(prefix="execmond-endpoint-attacks-")
    daemons = []
    try:
        for index, (name, build) in enumerate(builds):
            daemons.append(Daemon(name, os.path.abspath(os.path.join(build, "daemon", "execmond")),
                                  workdir, f"-{index}", args.names))
        fill_names(program, workdir, args.names)
        time.sleep(1)
        for d in daemons:
            status, _ = attack_scrape(d.port)
            conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=60)
            conn.request("GET", "/metrics")
            size = len(conn.getresponse().read())
            print(f"{d.name}: {args.names} names, a plain exposition of {size / 1e6:.1f} MB")
        attacks(daemons, workdir, args.attack_seconds)
    finally:
        for d in daemons:
            d.proc.terminate()
            d.proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

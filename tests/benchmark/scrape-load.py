#!/usr/bin/python3
"""The scrape-load benchmark: how /metrics holds up under many scrapes and bad clients.

    scrape-load.py BUILD_DIR [--names N] [--scrapes N] [--rounds N] [--baseline EXECMOND]
                   [--attack-seconds S]

Runs as root (it starts the daemon, which loads BPF programs), a few minutes. Starts
execmond with max_comm_series: 10000, fills N process names (default 10000) by exec'ing
the benchmark's static true_exit under N symlink names, then:
  1. one scrape, plain and gzip: render time and sizes;
  2. --scrapes parallel gzip scrapes (default 200), all released at once, --rounds times:
     p50, p99 and max latency of each scrape, from its connect to its last byte;
  3. slowloris: 200 connections holding half a request and 200 idle ones, then 5 scrapes
     in a row: the latency of each (given up after 10 s);
then, for each attack, RSS (idle, peak, after) and the p50/p99 of scrapes made during it
from another address (tests/integration/endpoint_flood.py runs the attackers):
  4. 100 clients pipelining requests on one connection each (issue 17, item 0);
  5. 100 slow readers with a 4 KiB receive buffer, also the kernel send queues (18.1);
  6. 40 connections of wrong passwords against basic auth, a SIGHUP halfway (18.2);
  7. full TLS handshakes from 8 threads of one address (18.4).
With --baseline, a second execmond (e.g. main's build) counts the same names and gets the
same attacks, one after the other, and both are printed side by side: the machine's load
at the time weighs on both alike.
Prints figures; it is not a test with a time limit. Exits non-zero only when it could not
measure.
"""

import argparse
import base64
import http.client
import os
import signal
import ssl
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings

with warnings.catch_warnings():
    # Deprecated, but in Debian 12's Python and the simplest way to make a bcrypt hash.
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

# A scrape behind slowloris connections is given this long.
SLOWLORIS_TIMEOUT = 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daemon(binary, workdir, port, tag=""):
    config = os.path.join(workdir, f"execmond{tag}.yaml")
    with open(config, "w") as f:
        f.write("max_comm_series: 10000\n")
    log = open(os.path.join(workdir, f"execmond{tag}.log"), "w+")
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

    def __init__(self, name, binary, workdir, tag):
        self.name = name
        self.port = free_port()
        self.tag = tag
        self.workdir = workdir
        self.proc = start_daemon(binary, workdir, self.port, tag)
        self.config = os.path.join(workdir, f"execmond{tag}.yaml")
        self.log = os.path.join(workdir, f"execmond{tag}.log")

    def use_web_config(self, text):
        """Rewrites the web configuration and reloads (SIGHUP), waiting for the reload."""
        web = os.path.join(self.workdir, f"web{self.tag}.yml")
        with open(web, "w") as f:
            f.write(text)
        with open(self.config, "w") as f:
            f.write(f"max_comm_series: 10000\nweb_config_file: {web}\n")
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
    print_attack("4. 100 clients pipelining requests (issue 17.0):", figures)
    figures = {d.name: under_attack(d, "slowread", 100, seconds, stagger=0.1) for d in daemons}
    print_attack("5. 100 slow readers, 4 KiB receive buffer (issue 18.1):", figures)

    password = crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2 ** 10))
    good = {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret").decode()}
    figures = {}
    for d in daemons:
        d.use_web_config(f"basic_auth_users:\n  alice: '{password}'\n")
        attack_scrape(d.port, good)  # the scraper verified before the flood
        figures[d.name] = under_attack(d, "password", 40, seconds, headers=good, midway=d.sighup)
    print_attack("6. 40 connections of wrong passwords, SIGHUP halfway (issue 18.2):", figures)

    key, crt = make_certificate(workdir)
    context = ssl.create_default_context(cafile=crt)
    figures = {}
    for d in daemons:
        d.use_web_config(f"tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n")
        figures[d.name] = under_attack(d, "handshake", 8, seconds, context=context)
    print_attack("7. full TLS handshakes from 8 threads of one address (issue 18.4):", figures)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("build_dir")
    parser.add_argument("--names", type=int, default=10000)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="another execmond binary to attack alike")
    parser.add_argument("--attack-seconds", type=float, default=15)
    args = parser.parse_args()
    binary = os.path.join(args.build_dir, "daemon", "execmond")
    program = os.path.abspath(os.path.join(args.build_dir, "tests", "benchmark", "true_exit"))
    for path in (binary, program):
        if not os.access(path, os.X_OK):
            sys.exit(f"missing {path}: build first")
    if os.geteuid() != 0:
        sys.exit("run as root: the daemon loads BPF programs")

    workdir = tempfile.mkdtemp(prefix="execmond-scrape-load-")
    daemons = [Daemon("this", binary, workdir, "")]
    if args.baseline:
        daemons.append(Daemon("baseline", os.path.abspath(args.baseline), workdir, "-baseline"))
    port = daemons[0].port
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
        attacks(daemons, workdir, args.attack_seconds)
    finally:
        for d in daemons:
            d.proc.terminate()
            d.proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

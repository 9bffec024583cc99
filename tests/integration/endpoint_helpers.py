# SPDX-License-Identifier: Apache-2.0
"""What the endpoint tests share: timed scrapes, hostile clients in a process of their own
(endpoint_flood.py), the daemon's memory, certificates."""

import base64
import http.client
import json
import re
import os
import signal
import subprocess
import sys
import threading
import time
import warnings

with warnings.catch_warnings():
    # Deprecated, but in Debian 12's Python and the simplest way to make a bcrypt hash.
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

from conftest import require_tool

SCRAPE_LIMIT_S = 2.0
FLOOD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "endpoint_flood.py")


def timed_scrape(port, path="/metrics", headers=None, context=None, source="127.0.0.1",
                 timeout=10):
    """One scrape on a new connection: (status, body, seconds)."""
    start = time.monotonic()
    if context is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                          source_address=(source, 0))
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context,
                                           source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, body, time.monotonic() - start
    finally:
        conn.close()


def basic(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def bcrypt(password, cost=6):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2 ** cost))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Flood:
    """endpoint_flood.py MODE in a process of its own, until stop()."""

    def __init__(self, mode, port, clients, source="127.0.0.2", stagger=0.0):
        self.proc = subprocess.Popen(
            [sys.executable, FLOOD, mode, "--port", str(port), "--clients", str(clients),
             "--source", source, "--stagger", str(stagger)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop(self):
        """What the flood did (its JSON line)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        assert out.strip(), f"the flood printed nothing: {err}"
        return json.loads(out.strip().splitlines()[-1])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def scrapes_during(port, seconds, interval=0.2, **scrape_args):
    """Scrapes one after another for `seconds`: [(status, seconds)], errors as status None."""
    results = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            status, _, took = timed_scrape(port, **scrape_args)
        except (OSError, http.client.HTTPException):
            status, took = None, float("inf")
        results.append((status, took))
        time.sleep(interval)
    return results


def assert_all_answered_fast(results, what):
    statuses = [s for s, _ in results]
    latencies = [t for _, t in results]
    p99 = percentile(latencies, 0.99)
    summary = (f"{what}: {statuses.count(200)}/{len(results)} answered 200, p50 "
               f"{percentile(latencies, 0.5):.2f} s, p99 {p99:.2f} s")
    print(summary)
    assert statuses.count(200) == len(results), summary
    assert p99 < SCRAPE_LIMIT_S, summary


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


class RssSampler:
    """The highest RSS of `pid` seen, sampled every 0.1 s on a thread."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def make_certificate(tmp_path, name, ca=None, san="IP:127.0.0.1", key_type="ec", days=2):
    """A key and certificate; self-signed, or signed by `ca` (a name)."""
    openssl = require_tool("openssl")
    key, crt = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
    new_key = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] if key_type == "ec"
               else ["-newkey", "rsa:2048"])
    if ca is None:
        subprocess.run([openssl, "req", "-x509", *new_key, "-nodes", "-days", str(days),
                        "-subj", f"/CN={name}", "-addext", f"subjectAltName={san}",
                        "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    else:
        csr = tmp_path / f"{name}.csr"
        ext = tmp_path / f"{name}.ext"
        ext.write_text(f"subjectAltName={san}\n")
        subprocess.run([openssl, "req", "-new", *new_key, "-nodes", "-subj", f"/CN={name}",
                        "-keyout", str(key), "-out", str(csr)], check=True, capture_output=True)
        subprocess.run([openssl, "x509", "-req", "-in", str(csr), "-days", str(days),
                        "-CA", str(tmp_path / f"{ca}.crt"), "-CAkey", str(tmp_path / f"{ca}.key"),
                        "-CAcreateserial", "-extfile", str(ext), "-out", str(crt)],
                       check=True, capture_output=True)
    return key, crt


def sighup_and_wait(d, expect, timeout=10):
    """SIGHUP the daemon and wait for `expect` to appear in its log after it."""
    before = len(d.log.read_text())
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if expect in d.log.read_text()[before:]:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {expect!r} after SIGHUP:\n{d.log.read_text()[before:]}")


def send_queue_bytes(port):
    """Bytes the kernel holds in the send queues of the connections to `port` (what ss
    calls wmem_queued): memory a slow reader makes the daemon's side hold."""
    out = subprocess.run([require_tool("ss"), "-tmnH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    total = 0
    for match in re.finditer(r"skmem:\(([^)]*)\)", out):
        fields = dict((f[0], int(f[1:])) for f in match.group(1).split(",")
                      if f and f[0] == "w" and f[1:].isdigit())
        total += fields.get("w", 0)
    return total


class QueueSampler(RssSampler):
    """The highest kernel send queue total to `port` seen, sampled every 0.2 s."""

    def __init__(self, port):
        super().__init__(None)
        self.port = port

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, send_queue_bytes(self.port))
            self._stop.wait(0.2)

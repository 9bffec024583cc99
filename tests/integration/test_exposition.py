"""The exposition as Prometheus reads it: native histograms through the protobuf format,
stored as native by a real Prometheus (Debian's) and agreeing with the classic buckets;
series that expire (series_ttl) and make room; counters that never go backwards while a
storm runs and scrapes come in parallel, in every format and encoding."""

import gzip
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest

from conftest import Metrics, free_port, require_tool

DASHBOARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                         "grafana", "execmond-dashboard.json")
PROTOBUF = ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
            "encoding=delimited")


class Prometheus:
    """A real Prometheus scraping one execmond every second, in a scratch directory."""

    def __init__(self, binary, directory, target_port, native):
        self.port = free_port()
        self.directory = directory
        os.makedirs(directory)
        config = os.path.join(directory, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: execmond\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{target_port}']\n")
        args = [binary, f"--config.file={config}", f"--storage.tsdb.path={directory}/data",
                f"--web.listen-address=127.0.0.1:{self.port}"]
        if native:
            args.append("--enable-feature=native-histograms")
        self.log = open(os.path.join(directory, "prometheus.log"), "w+")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def wait_until(self, expr, predicate, timeout=60):
        deadline = time.monotonic() + timeout
        result = None
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                result = self.query(expr)
                if predicate(result):
                    return result
            except OSError:
                pass  # not listening yet
            time.sleep(0.5)
        raise AssertionError(f"{expr} never satisfied the test; last: {result}\n{self.output()}")

    def output(self):
        self.log.seek(0)
        return self.log.read()[-3000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def prometheus_factory(tmp_path):
    binary = require_tool("prometheus")
    started = []

    def make(name, target_port, native):
        p = Prometheus(binary, str(tmp_path / name), target_port, native)
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


def scalar(result):
    assert len(result) == 1, result
    return float(result[0]["value"][1])


def test_native_histogram_is_stored_as_native_and_agrees_with_the_classic_buckets(
        daemon_factory, workload, prometheus_factory):
    """Prometheus with --enable-feature=native-histograms asks for protobuf and stores the
    lifetime histogram as one native series; quantiles over it agree with the classic
    buckets (from a second Prometheus, reading text) within the classic resolution, and
    a name costs at most 8 series."""
    d = daemon_factory()
    native = prometheus_factory("native", d.port, native=True)
    classic = prometheus_factory("classic", d.port, native=False)
    comm = workload.name("h")
    selector = f'execmond_process_duration_seconds{{comm="{comm}"}}'
    # A known distribution: 20 lifetimes of 30 ms, 20 of 300 ms, 10 of 2 s; 3 killed.
    # Ten of them first, scraped by both, so that rate() over the range sees an increase.
    workload.run_parallel([(comm, ["--sleep-ms", 30])] * 10)
    native.wait_until(selector, lambda r: r and r[0]["histogram"][1]["count"] == "10")
    classic.wait_until(f'execmond_exits_total{{comm="{comm}"}}',
                       lambda r: r and r[0]["value"][1] == "10")
    jobs = ([(comm, ["--sleep-ms", 30])] * 10 + [(comm, ["--sleep-ms", 300])] * 20 +
            [(comm, ["--sleep-ms", 2000])] * 7 +
            [(comm, ["--sleep-ms", 2000, "--signal", int(signal.SIGKILL)])] * 3)
    workload.run_parallel(jobs)
    d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 50)
    stored = native.wait_until(
        selector, lambda r: r and "histogram" in r[0] and r[0]["histogram"][1]["count"] == "50")
    histogram = stored[0]["histogram"][1]
    assert "value" not in stored[0]  # one native sample, not a float series
    assert abs(float(histogram["sum"]) - (20 * 0.03 + 20 * 0.3 + 10 * 2)) < 2.0
    # Buckets: (lower, upper] with schema 1 boundaries, powers of sqrt(2).
    bounds = [(float(b[1]), float(b[2]), int(b[3])) for b in histogram["buckets"]]
    assert sum(count for _, _, count in bounds) == 50
    for lower, upper, _ in bounds:
        assert abs(upper / lower - 2 ** 0.5) < 1e-9, (lower, upper)
    classic.wait_until(f'{selector[:-1].replace("seconds{", "seconds_count{")}}}',
                       lambda r: r and float(r[0]["value"][1]) == 50)
    # The classic Prometheus stored buckets, no native histogram.
    classic_buckets = classic.query(f'execmond_process_duration_seconds_bucket{{comm="{comm}"}}')
    assert len(classic_buckets) == 17
    assert native.query(f'execmond_process_duration_seconds_bucket{{comm="{comm}"}}') == []

    bounds_classic = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600,
                      14400, 86400]
    truth = sorted([0.03] * 20 + [0.3] * 20 + [2.0] * 10)
    print(f"\n  quantile  classic  native   true (lifetimes {comm})")
    for q in (0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
        from_native = scalar(native.query(f"histogram_quantile({q}, {selector})"))
        from_classic = scalar(classic.query(
            f'histogram_quantile({q}, execmond_process_duration_seconds_bucket{{comm="{comm}"}})'))
        true_value = truth[min(len(truth) - 1, int(q * len(truth)))]
        print(f"  {q:<8}  {from_classic:<7.4f}  {from_native:<7.4f}  {true_value}")
        # Within the classic resolution: both in the same classic bucket.
        le = next(b for b in bounds_classic if from_classic <= b)
        lower = max([0] + [b for b in bounds_classic if b < le])
        assert lower <= from_native <= le, (q, from_classic, from_native)
        # And the native one within its own resolution (a factor of sqrt(2)) of the truth,
        # which the workload's real lifetimes exceed by a few milliseconds.
        assert true_value / 1.5 <= from_native <= true_value * 1.5 + 0.01, (q, from_native)

    # Series per name: the counters, the signal, one native histogram.
    per_name_native = scalar(native.query(f'count({{comm="{comm}"}})'))
    per_name_classic = scalar(classic.query(f'count({{comm="{comm}"}})'))
    print(f"  series for this name: {per_name_native:.0f} with the native histogram, "
          f"{per_name_classic:.0f} with the classic one")
    assert per_name_native <= 8
    assert per_name_classic == per_name_native + 18  # 17 buckets, _sum, _count vs 1
    for p in (native, classic):
        up = p.query('up{job="execmond"}')
        assert up and up[0]["value"][1] == "1", p.output()

    # The dashboard's lifetime panels on both: the quantile panels read either kind, the
    # heatmap the classic buckets, the native panel the native histogram.
    panels = dashboard_queries({"$job": "execmond", "$instance": ".*", "$comm": comm,
                                "$__rate_interval": "1m", "$topk": "10"})
    expected = {  # panel title: (results on the native Prometheus, on the classic one)
        "Lifetime distribution": (False, True),
        "Lifetime quantiles": (True, True),
        "Median lifetime by name (top $topk by exits)": (True, True),
        "Lifetime p90 by name, native histograms (top $topk by exits)": (True, False),
    }
    for title, wanted in expected.items():
        for p, want in zip((native, classic), wanted):
            for expr in panels[title]:
                values = [float(r["value"][1]) for r in p.query(expr)]
                assert bool(values) == want, (title, p.directory, expr, values)
                assert all(v == v for v in values), (title, expr, values)  # no NaN
                assert not want or any(v > 0 for v in values), (title, expr, values)


def dashboard_queries(variables):
    """{panel title: [its queries, variables filled in]} of the Grafana dashboard."""
    with open(DASHBOARD) as f:
        dashboard = json.load(f)

    def panels(items):
        for p in items:
            yield p
            yield from panels(p.get("panels", []))

    queries = {}
    for p in panels(dashboard["panels"]):
        exprs = []
        for target in p.get("targets", []):
            expr = target["expr"]
            for name, value in variables.items():
                expr = expr.replace(name, value)
            exprs.append(expr)
        queries[p["title"]] = exprs
    return queries


def test_protobuf_and_text_carry_the_same_numbers(daemon_factory, workload):
    """Asked with Prometheus' Accept header, /metrics answers protobuf (gzip or not), with
    the Content-Type that says so; without it, text; the protobuf holds the counts the
    text holds."""
    d = daemon_factory()
    comm = workload.name("p")
    workload.run_parallel([(comm, ["--exit", 3])] * 4)
    d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 4)
    for encoding in ("", "gzip"):
        request = urllib.request.Request(d.url, headers={
            "Accept": PROTOBUF + ";q=0.7,text/plain;version=0.0.4;q=0.3",
            **({"Accept-Encoding": encoding} if encoding else {})})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            assert int(response.headers["Content-Length"]) == len(body)
            assert response.headers["Content-Type"].startswith("application/vnd.google.protobuf;")
            assert "encoding=delimited" in response.headers["Content-Type"]
            assert "Accept" in response.headers["Vary"]
            if encoding:
                assert response.headers["Content-Encoding"] == "gzip"
                body = gzip.decompress(body)
        # A delimited stream of messages: the name and the counts are in it.
        assert comm.encode() in body
        assert b"execmond_exits_nonzero_total" in body
    text, headers = d.scrape()
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert Metrics(text).get("execmond_exits_nonzero_total", comm=comm) == 4


def test_idle_series_expire_and_new_names_get_their_own(daemon_factory, workload):
    """series_ttl: fill the table, let the names go idle past the TTL, and new names get
    series of their own; the removals are counted, the overflow series keeps counting."""
    prefix = workload.name()[:7]
    d = daemon_factory(f'max_comm_series: 3\nseries_ttl: 2s\ninclude_comms: ["{prefix}*"]\n')
    old = [f"{prefix}o{i}" for i in range(3)]
    for name in old:
        workload.run(name)
    workload.run(f"{prefix}x")  # the table is full: overflow
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm="execmond_overflow") == 1)
    assert [m.get("execmond_execs_total", comm=n) for n in old] == [1, 1, 1]
    assert m.get("execmond_comm_series") == 3

    # Idle past the TTL (the reader sweeps once a second): all three go.
    m = d.wait_for(lambda m: m.get("execmond_comm_series_expired_total") == 3, timeout=15)
    assert m.get("execmond_comm_series") == 0
    assert all(n not in m.series("execmond_execs_total") for n in old)
    assert m.get("execmond_execs_total", comm="execmond_overflow") == 1

    new = [f"{prefix}n{i}" for i in range(3)]
    for name in new:
        workload.run(name, "--exit", 1)
    workload.run(f"{prefix}y")  # full again
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm="execmond_overflow") == 2)
    assert [m.get("execmond_exits_nonzero_total", comm=n) for n in new] == [1, 1, 1]
    assert m.get("execmond_comm_overflow_events_total") == 4
    assert d.stop() == 0


def counters(metrics):
    """Every counter sample of a scrape (histogram buckets, _count and _sum included)."""
    return {key: value for key, value in metrics.samples.items()
            if key[0].endswith(("_total", "_bucket", "_count", "_sum"))}


def test_scrapes_during_a_storm_never_see_a_counter_go_back(daemon_factory, workload, tmp_path):
    """While a storm of short processes runs under a few names, parallel scrapes (text,
    gzip) each see every counter at least where the previous scrape saw it, and the
    final counts are exact."""
    d = daemon_factory("series_ttl: 0\n")
    names = [workload.name(f"s{i}") for i in range(4)]
    per_name = 400
    stop = threading.Event()
    problems = []
    seen = []

    def scraper(gzip_encoding):
        last = {}
        while not stop.is_set():
            text, _ = d.scrape(gzip_encoding=gzip_encoding)
            now = counters(Metrics(text))
            for key, value in now.items():
                if value < last.get(key, 0):
                    problems.append((key, last[key], value))
            last.update(now)
            seen.append(1)

    threads = [threading.Thread(target=scraper, args=(g,)) for g in (False, True, True)]
    for t in threads:
        t.start()
    try:
        for _ in range(per_name // 20):
            workload.run_parallel([(n, ["--exit", 1]) for n in names] * 20)
        d.wait_for(lambda m: all(m.get("execmond_exits_total", comm=n) == per_name
                                 for n in names), timeout=30)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not problems, problems[:10]
    assert len(seen) >= 10
    m = d.metrics()
    for n in names:
        assert m.get("execmond_execs_total", comm=n) == per_name
        assert m.get("execmond_exits_nonzero_total", comm=n) == per_name
        assert m.get("execmond_process_duration_seconds_count", comm=n) == per_name
    assert m.get("execmond_events_lost_total") == 0

#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The exec-storm benchmark: what execmond costs a host that execs as fast as it can.

    run-benchmark.py BUILD_DIR [--quick] [--monitors-only] [--pairs N] [--pair-seconds S]
                     [--markdown FILE]

Runs as root (it loads execmond's BPF programs), about 7 minutes (--quick: 3;
--monitors-only: the last phase alone). Prints
every run as it ends, then a Markdown summary for the README. Figures, not a test: it
exits non-zero only when it could not measure (a binary missing, the daemon not
starting, a storm that did not run); a missed target is reported, not failed on.

Phases; every run with execmond starts a fresh daemon (default configuration unless
said), so its counters hold exactly that run:
  1. sweep    P = 1, 2, 4 storm workers, without and with execmond; the fastest P
              without it is "the highest exec rate this machine reaches";
  2. pairs    at that P, alternating runs without and with execmond: the throughput
              ratio, the daemon's CPU per event, lost events, exact counts, peak RSS;
  3. bpf      one run with kernel.bpf_stats_enabled=1 (restored afterwards): the time
              each BPF program takes per run, which every exec on the host pays;
  4. rings    smaller ring buffers than the default, to show where losses start;
  5. typical  pairs with /bin/true (dynamically linked) instead of the minimal program:
              the overhead on execs that do what real programs do at start-up;
  6. monitors execmond's configurations and its peers (bpftrace, execsnoop) side by
              side: storm ratios, the per-syscall tax, BPF ns per exec+exit (peers.py).

The storm execs a copy of tests/benchmark/true_exit under a name no other process has,
so execmond_execs_total and execmond_exits_total for that name must equal the execs
the storm counted.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field

import peers

CLK_TCK = os.sysconf("SC_CLK_TCK")
SOURCE_DIR = os.path.dirname(os.path.abspath(__file__))
BPF_STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"
TYPICAL_PROGRAM = "/bin/true"

TARGET_RATIO = 0.99
TARGET_US_PER_EVENT = 1.0
# A storm makes about 0.3 cores of deferred kernel work (RCU frees, kworkers) that is
# not charged to it; more than this means something else was running.
NOISE_CORES = 0.5
# Programs of these types run on kernel events: someone else's may hook exec too.
HOOK_TYPES = {"tracing", "tracepoint", "raw_tracepoint", "kprobe", "perf_event", "lsm"}

DEFAULT_RING = "4MiB"
DEFAULT_POLL_MS = 200


class BenchmarkError(Exception):
    """Something prevented a measurement: the benchmark exits non-zero."""


@dataclass
class Plan:
    sweep_seconds: float
    pairs: int
    pair_seconds: float
    bpf_seconds: float
    ring_seconds: float
    typical_pairs: int
    typical_seconds: float
    peer_pairs: int
    peer_seconds: float
    workers: tuple = (1, 2, 4)
    small_rings: tuple = ("256KiB", "64KiB")


# Each run with execmond also costs about 2.5 s of daemon start, drain and stop.
FULL_PLAN = Plan(sweep_seconds=3, pairs=5, pair_seconds=10, bpf_seconds=5, ring_seconds=5,
                 typical_pairs=3, typical_seconds=4, peer_pairs=3, peer_seconds=5)
QUICK_PLAN = Plan(sweep_seconds=1.5, pairs=3, pair_seconds=3, bpf_seconds=2, ring_seconds=2,
                  typical_pairs=3, typical_seconds=1.5, peer_pairs=2, peer_seconds=2)


# ---------------------------------------------------------------- machine and binaries


def machine_info():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    with open("/proc/loadavg") as f:
        loadavg = f.read().split()[:3]
    return {"cpu": model, "nproc": os.cpu_count(), "kernel": os.uname().release,
            "memory_gib": round(mem_kib / 2**20), "loadavg": loadavg}


def source_revision():
    try:
        out = subprocess.run(["git", "-C", SOURCE_DIR, "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


@dataclass
class Binaries:
    execmond: str
    storm: str
    minimal: str  # true_exit, under a unique name
    typical: str  # /bin/true, under a unique name
    version: str
    syscall_tax: str  # the getppid loop


def prepare_binaries(build_dir, work_dir):
    """Copies what the benchmark runs into work_dir, so that a rebuild of BUILD_DIR
    during a run cannot change it. Builds the storm with cc when BUILD_DIR does not
    have it (tests/benchmark not yet in the CMake tree)."""
    daemon = os.path.join(build_dir, "daemon", "execmond")
    if not os.access(daemon, os.X_OK):
        raise BenchmarkError(f"no execmond binary at {daemon}: build the project first")
    shutil.copy2(daemon, os.path.join(work_dir, "execmond"))

    built = os.path.join(build_dir, "tests", "benchmark")
    programs = ("exec_storm", "true_exit", "syscall_tax")
    if all(os.access(os.path.join(built, b), os.X_OK) for b in programs):
        for binary in programs:
            shutil.copy2(os.path.join(built, binary), os.path.join(work_dir, binary))
    else:
        print(f"note: no storm binaries in {built}: building them with cc", file=sys.stderr)
        compile_storm(work_dir)

    # The kernel names a process after the file it exec'd (15 bytes at most).
    name = "storm" + secrets.token_hex(4)
    minimal, typical = os.path.join(work_dir, name), os.path.join(work_dir, name + "t")
    shutil.copy2(os.path.join(work_dir, "true_exit"), minimal)
    shutil.copy2(TYPICAL_PROGRAM, typical)
    execmond = os.path.join(work_dir, "execmond")
    version = subprocess.run([execmond, "--version"], capture_output=True, text=True)
    return Binaries(execmond, os.path.join(work_dir, "exec_storm"), minimal, typical,
                    version.stdout.strip() or "unknown version",
                    os.path.join(work_dir, "syscall_tax"))


def compile_storm(work_dir):
    """What tests/benchmark/CMakeLists.txt does, for a tree that does not build it yet."""
    def cc(*args):
        result = subprocess.run(["cc", "-O2", "-Wall", "-Wextra", *args], capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise BenchmarkError("cannot build the storm: " + result.stderr.strip())

    cc(os.path.join(SOURCE_DIR, "exec_storm.c"), "-o", os.path.join(work_dir, "exec_storm"))
    cc(os.path.join(SOURCE_DIR, "syscall_tax.c"), "-o", os.path.join(work_dir, "syscall_tax"))
    source, target = os.path.join(SOURCE_DIR, "true_exit.c"), os.path.join(work_dir, "true_exit")
    if os.uname().machine in ("x86_64", "aarch64"):
        cc("-DEXEC_STORM_NOSTDLIB", "-fno-stack-protector", "-fno-pie", "-static", "-nostdlib",
           "-no-pie", source, "-o", target)
    else:
        cc("-static", source, "-o", target)


# ---------------------------------------------------------------- /proc, bpftool, /metrics


def system_busy_seconds():
    """CPU time the whole machine spent not idle, from /proc/stat."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = \
            [int(v) for v in f.readline().split()[1:9]]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


@dataclass
class DaemonCpu:
    ticks: int  # utime + stime of every thread, from /proc/PID/stat
    sched_ns: int  # on-CPU time of the live threads, from /proc/PID/task/*/schedstat
    wakeups: int  # voluntary context switches of the live threads

    def __sub__(self, other):
        return DaemonCpu(self.ticks - other.ticks, self.sched_ns - other.sched_ns,
                         self.wakeups - other.wakeups)


def daemon_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()  # fields[0] is field 3, the state
    ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15: utime, stime
    sched_ns = wakeups = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                sched_ns += int(f.read().split()[0])
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        wakeups += int(line.split()[1])
        except FileNotFoundError:
            pass  # a thread that just ended
    return DaemonCpu(ticks, sched_ns, wakeups)


def memory_kib(pid):
    """VmHWM (peak RSS), VmRSS and RssAnon (its heap and stacks), from /proc/PID/status."""
    memory = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon"):
                memory[key] = int(value.split()[0])
    return memory


def bpf_programs(ids=None):
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         timeout=30)
    if out.returncode != 0:
        raise BenchmarkError("bpftool prog show failed: " + out.stderr.strip())
    return [p for p in json.loads(out.stdout or "[]") if ids is None or p["id"] in ids]


def foreign_hooks(own_ids=()):
    """Tracing programs someone else has loaded (another daemon, execsnoop, a test):
    they may run on every exec, with or without our daemon."""
    return sum(1 for p in bpf_programs() if p["id"] not in own_ids and p["type"] in HOOK_TYPES)


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class Metrics:
    """One scrape of /metrics, in the text format."""

    def __init__(self, text):
        self.samples = []
        for line in text.splitlines():
            match = SAMPLE.match(line)
            if match:
                labels = dict(LABEL.findall(match.group(2) or ""))
                self.samples.append((match.group(1), labels, float(match.group(3))))

    def total(self, name, **labels):
        return sum(v for n, l, v in self.samples
                   if n == name and all(l.get(k) == want for k, want in labels.items()))

    def events(self):
        """Every record the daemon counted, whatever the process name."""
        return sum(self.total(n) for n in ("execmond_execs_total", "execmond_exits_total",
                                           "execmond_exec_failures_total"))


# ---------------------------------------------------------------- the daemon and the storm


class Daemon:
    """One execmond process with a configuration of its own: started at construction,
    serving once wait_ready() returns."""

    # Appended to every daemon's configuration of phases 1-5 (--daemon-config).
    extra_config = ""

    def __init__(self, binary, work_dir, ring=DEFAULT_RING, poll_ms=DEFAULT_POLL_MS):
        self.poll_ms = poll_ms
        tag = f"{ring}-{poll_ms}ms-{time.monotonic_ns()}"
        config = os.path.join(work_dir, f"execmond-{tag}.yaml")
        with open(config, "w") as f:
            f.write(f'listen: "127.0.0.1:0"\nring_buffer_size: {ring}\n'
                    f"poll_interval: {poll_ms}ms\nlog_level: info\n" + Daemon.extra_config)
        self.log_path = os.path.join(work_dir, f"execmond-{tag}.log")
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen([binary, "--config", config], stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.process.pid
        self.port = None
        self.prog_ids = set()

    def wait_ready(self, timeout=30):
        self.port = self._ready_port(timeout)
        self.prog_ids = peers.held_program_ids(self.pid)

    def _ready_port(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            with open(self.log_path) as f:
                match = re.search(r"ready: .*\(port (\d+)\)", f.read())
            if match:
                return int(match.group(1))
            time.sleep(0.05)
        self.stop()
        with open(self.log_path) as f:
            raise BenchmarkError("execmond did not become ready:\n" + f.read()[-2000:])

    def scrape(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as r:
            return Metrics(r.read().decode())

    def settled_scrape(self, comm, expected, timeout=5):
        """The metrics once `expected` execs and exits of `comm` are counted, or the
        timeout has passed (events were lost)."""
        deadline = time.monotonic() + timeout
        while True:
            metrics = self.scrape()
            if (metrics.total("execmond_execs_total", comm=comm) >= expected
                    and metrics.total("execmond_exits_total", comm=comm) >= expected):
                return metrics
            if time.monotonic() > deadline:
                return metrics
            time.sleep(self.poll_ms / 1000)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Storm:
    """exec_storm runs; a run in progress is killed with its workers on cleanup."""

    def __init__(self, binary):
        self.binary = binary
        self.running = None

    def run(self, target, workers, seconds):
        self.running = subprocess.Popen(
            [self.binary, "--exe", target, "--workers", str(workers), "--seconds", str(seconds),
             "--spawn", "vfork"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        out, err = self.running.communicate(timeout=seconds + 60)
        self.running = None
        result = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
        if int(result.get("execs", 0)) == 0:
            raise BenchmarkError(f"the storm did not run: {err.strip() or out.strip()}")
        return result

    def kill(self):
        if self.running and self.running.poll() is None:
            os.killpg(self.running.pid, signal.SIGKILL)
            self.running.wait()


# ---------------------------------------------------------------- one run


@dataclass
class Run:
    phase: str
    comm: str
    with_daemon: bool
    workers: int
    execs: int
    failed: int
    elapsed: float
    storm_cpu: float  # seconds: the storm's workers and their children (BPF runs in them)
    system_busy: float  # seconds: the whole machine, while the storm ran
    foreign_hooks: int
    ring: str = ""
    events: int = 0  # records the daemon counted, every process name
    cpu: DaemonCpu = None
    lost: int = 0
    counted_execs: int = 0
    counted_exits: int = 0
    counted_failures: int = 0
    memory_kib: dict = field(default_factory=dict)  # memory_kib() at the end of the run
    bpf: list = field(default_factory=list)  # per-program run count and time, bpf phase

    @property
    def rate(self):
        return self.execs / self.elapsed

    @property
    def daemon_seconds(self):
        return self.cpu.sched_ns / 1e9 if self.cpu else 0.0

    @property
    def other_cores(self):
        """CPU the rest of the machine used while the storm ran, in cores."""
        return max(0.0, self.system_busy - self.storm_cpu - self.daemon_seconds) / self.elapsed

    @property
    def quiet(self):
        return self.other_cores <= NOISE_CORES and not self.foreign_hooks

    @property
    def peak_rss_kib(self):
        return self.memory_kib.get("VmHWM", 0)

    @property
    def exact(self):
        return (self.counted_execs == self.execs and self.counted_exits == self.execs
                and self.counted_failures == 0 and self.failed == 0)

    def line(self):
        noise = f"other load {self.other_cores:4.2f} cores"
        if self.foreign_hooks:
            noise += f", {self.foreign_hooks} foreign tracing programs"
        text = (f"  {self.phase:7} P={self.workers} {'with   ' if self.with_daemon else 'without'}"
                f" {self.rate:9.1f} execs/s ({self.execs} in {self.elapsed:.2f} s; {noise})")
        if self.with_daemon:
            text += (f"\n          ring {self.ring}: daemon {self.cpu.ticks} ticks, "
                     f"{self.cpu.sched_ns / 1e6:.1f} ms on-CPU for {self.events} events "
                     f"({us_per_event(self.daemon_seconds, self.events):.3f} us/event), "
                     f"{self.cpu.wakeups} wake-ups; lost {self.lost}; counted "
                     f"{self.counted_execs} execs {self.counted_exits} exits of "
                     f"{self.execs} -> {'PASS' if self.exact else 'FAIL'}; "
                     f"VmHWM {self.peak_rss_kib} KiB, "
                     f"VmRSS {self.memory_kib.get('VmRSS', 0)} KiB")
        return text


def us_per_event(seconds, events):
    return seconds * 1e6 / events if events else float("nan")


class Bench:
    """Runs storms with and without a daemon, and cleans up whatever is running."""

    def __init__(self, binaries, work_dir):
        self.bin = binaries
        self.work_dir = work_dir
        self.storm = Storm(binaries.storm)
        self.daemon = None
        self.saved_bpf_stats = None

    def storm_run(self, phase, target, workers, seconds, with_daemon, own_ids=()):
        foreign = foreign_hooks(own_ids)
        busy_before = system_busy_seconds()
        result = self.storm.run(target, workers, seconds)
        busy = system_busy_seconds() - busy_before
        foreign = max(foreign, foreign_hooks(own_ids))
        return Run(phase, os.path.basename(target), with_daemon, workers, int(result["execs"]),
                   int(result["failed"]), float(result["elapsed_s"]),
                   float(result["cpu_user_s"]) + float(result["cpu_sys_s"]), busy, foreign)

    def without(self, phase, workers, seconds, target=None):
        run = self.storm_run(phase, target or self.bin.minimal, workers, seconds, False)
        print(run.line(), flush=True)
        return run

    def with_daemon(self, phase, workers, seconds, target=None, ring=DEFAULT_RING,
                    bpf_stats=False):
        target = target or self.bin.minimal
        comm = os.path.basename(target)
        self.daemon = daemon = Daemon(self.bin.execmond, self.work_dir, ring=ring)
        try:
            daemon.wait_ready()
            before = daemon.scrape()
            cpu_before = daemon_cpu(daemon.pid)
            if bpf_stats:
                self.enable_bpf_stats()
                progs_before = {p["id"]: p for p in bpf_programs(daemon.prog_ids)}
            run = self.storm_run(phase, target, workers, seconds, True, daemon.prog_ids)
            if bpf_stats:
                progs_after = bpf_programs(daemon.prog_ids)
                self.restore_bpf_stats()
                run.bpf = [bpf_delta(progs_before[p["id"]], p) for p in progs_after]
            # The reader drains at least once per poll interval: wait one, then read its
            # CPU time before a scrape adds to it.
            time.sleep(daemon.poll_ms / 1000 + 0.15)
            run.cpu = daemon_cpu(daemon.pid) - cpu_before
            after = daemon.settled_scrape(comm, run.execs)
            run.ring = ring
            run.memory_kib = memory_kib(daemon.pid)
        finally:
            self.restore_bpf_stats()
            daemon.stop()
            self.daemon = None

        def delta(name, **labels):
            return round(after.total(name, **labels) - before.total(name, **labels))

        run.events = round(after.events() - before.events())
        run.lost = delta("execmond_events_lost_total")
        run.counted_execs = delta("execmond_execs_total", comm=comm)
        run.counted_exits = delta("execmond_exits_total", comm=comm)
        run.counted_failures = delta("execmond_exec_failures_total", comm=comm)
        print(run.line(), flush=True)
        return run

    def enable_bpf_stats(self):
        with open(BPF_STATS_SYSCTL) as f:
            self.saved_bpf_stats = f.read().strip()
        with open(BPF_STATS_SYSCTL, "w") as f:
            f.write("1")

    def restore_bpf_stats(self):
        if self.saved_bpf_stats is not None:
            with open(BPF_STATS_SYSCTL, "w") as f:
                f.write(self.saved_bpf_stats)
            self.saved_bpf_stats = None

    def cleanup(self):
        self.storm.kill()
        if self.daemon:
            self.daemon.stop()
        self.restore_bpf_stats()


def bpf_delta(before, after):
    return {"name": after["name"],
            "run_cnt": after.get("run_cnt", 0) - before.get("run_cnt", 0),
            "run_time_ns": after.get("run_time_ns", 0) - before.get("run_time_ns", 0)}


# ---------------------------------------------------------------- phases


def sweep(bench, plan):
    print(f"[1/5] sweep: P = {', '.join(map(str, plan.workers))}, {plan.sweep_seconds:g} s each")
    runs = []
    for workers in plan.workers:
        runs.append(bench.without("sweep", workers, plan.sweep_seconds))
        runs.append(bench.with_daemon("sweep", workers, plan.sweep_seconds))
    fastest = max((r for r in runs if not r.with_daemon), key=lambda r: r.rate).workers
    print(f"  fastest without execmond: P={fastest}")
    return runs, fastest


def alternate(bench, phase, pairs, workers, seconds, target=None):
    runs = []
    for _ in range(pairs):
        runs.append(bench.without(phase, workers, seconds, target))
        runs.append(bench.with_daemon(phase, workers, seconds, target))
    return runs


def bpf_cost(bench, plan, workers):
    print(f"[3/5] bpf: kernel.bpf_stats_enabled=1 for one {plan.bpf_seconds:g} s run at "
          f"P={workers}")
    run = bench.with_daemon("bpf", workers, plan.bpf_seconds, bpf_stats=True)
    for p in run.bpf:
        print(f"          {p['name']:28} {p['run_cnt']:9} runs {ns_per_run(p):7.0f} ns/run")
    return run


def ns_per_run(program):
    return program["run_time_ns"] / program["run_cnt"] if program["run_cnt"] else 0.0


# ---------------------------------------------------------------- report


@dataclass
class Comparison:
    """Alternating runs without and with execmond."""
    without: list
    with_: list

    @classmethod
    def of(cls, runs):
        return cls([r for r in runs if not r.with_daemon], [r for r in runs if r.with_daemon])

    @property
    def pair_ratios(self):
        return [w.rate / wo.rate for wo, w in zip(self.without, self.with_)]

    @property
    def quiet_ratios(self):
        return [w.rate / wo.rate for wo, w in zip(self.without, self.with_) if wo.quiet and w.quiet]

    @property
    def ratio_of_medians(self):
        return (statistics.median(r.rate for r in self.with_)
                / statistics.median(r.rate for r in self.without))

    def cpu_per_exec_us(self, runs, daemon=False):
        cpu = sum(r.storm_cpu + (r.daemon_seconds if daemon else 0) for r in runs)
        return cpu * 1e6 / sum(r.execs for r in runs)

    @property
    def cpu_ratio(self):
        """The throughput ratio of a machine whose CPUs the storm saturates, from the
        CPU time each exec costs, the daemon's included. Other processes on the machine
        do not move it; the host's noise, which a VM sees as its own CPU time, does."""
        return self.cpu_per_exec_us(self.without) / self.cpu_per_exec_us(self.with_, daemon=True)

    def met(self):
        return (self.ratio_of_medians >= TARGET_RATIO
                and statistics.median(self.pair_ratios) >= TARGET_RATIO)

    def describe(self):
        return (f"{self.ratio_of_medians:.3f} (per pair: median "
                f"{statistics.median(self.pair_ratios):.3f}, range {spread(self.pair_ratios)})")


def spread(values):
    return f"{min(values):.3f}–{max(values):.3f}" if values else "n/a"


def fmt_rate(value):
    return f"{value:,.0f}/s"


def yes_no(met):
    return "**yes**" if met else "**no**"


def row(*cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


def header(cells):
    return [row(*cells), row(*["---"] * len(cells))]


def daemon_us_per_event(runs):
    return us_per_event(sum(r.daemon_seconds for r in runs), sum(r.events for r in runs))


def describe_setup(machine, revision, binaries, plan, fastest, started):
    return [
        "## Exec-storm benchmark",
        "",
        f"- Machine: {machine['nproc']} × {machine['cpu']}, {machine['memory_gib']} GiB, "
        f"Linux {machine['kernel']}; load average at start {' '.join(machine['loadavg'])}",
        f"- {binaries.version} (source {revision}), default configuration "
        f"(ring_buffer_size {DEFAULT_RING}, poll_interval {DEFAULT_POLL_MS}ms)"
        + (f" plus `{Daemon.extra_config.strip()}`" if Daemon.extra_config else ""),
        f"- Storm: `exec_storm`, P={fastest} workers (the fastest of "
        f"{', '.join(map(str, plan.workers))} without execmond), each looping vfork + execve + "
        f"waitpid of `true_exit` (static, no libc: the cheapest exec there is) renamed "
        f"`{os.path.basename(binaries.minimal)}`; {plan.pairs} pairs of {plan.pair_seconds:g} s "
        f"runs alternating without / with execmond, a fresh daemon per run",
        f"- Run {time.strftime('%Y-%m-%d %H:%M %Z', time.localtime(started))}, "
        f"{time.time() - started:.0f} s in all",
        "",
    ]


def targets_table(main, typical, bpf_run, all_with):
    with_ = main.with_
    events = sum(r.events for r in with_)
    ticks = sum(r.cpu.ticks for r in with_)
    us_ticks = us_per_event(ticks / CLK_TCK, events)
    us_sched = daemon_us_per_event(with_)
    lost = sum(r.lost for r in with_)
    exact = sum(r.exact for r in with_)
    quiet = main.quiet_ratios
    execs = sum(p["run_cnt"] for p in bpf_run.bpf
                if p["name"] in ("handle_exec", "handle_exec_without_storage"))
    bpf_us = sum(p["run_time_ns"] for p in bpf_run.bpf) / execs / 1000 if execs else 0
    memory = {k: max(r.memory_kib.get(k, 0) for r in with_) / 1024
              for k in ("VmHWM", "VmRSS", "RssAnon")}

    lines = header(("Measure", "Target", "Result", "Met"))
    lines.append(row("Throughput with / without execmond, ratio of median rates",
                     f"≥ {TARGET_RATIO}", main.describe(), yes_no(main.met())))
    if len(quiet) < len(main.pair_ratios):
        median = statistics.median(quiet) if quiet else 0
        lines.append(row("Same, pairs where both runs were quiet", f"≥ {TARGET_RATIO}",
                         f"median {median:.3f} of {len(quiet)}, range {spread(quiet)}"
                         if quiet else "no quiet pair", yes_no(median >= TARGET_RATIO)))
    lines.append(row("Same, from CPU time per exec (storm + daemon)", f"≥ {TARGET_RATIO}",
                     f"{main.cpu_ratio:.3f} ({main.cpu_per_exec_us(main.without):.1f} → "
                     f"{main.cpu_per_exec_us(with_, daemon=True):.1f} µs per exec)",
                     yes_no(main.cpu_ratio >= TARGET_RATIO)))
    lines.append(row("Exec rate without / with (median)", "",
                     f"{fmt_rate(statistics.median(r.rate for r in main.without))} / "
                     f"{fmt_rate(statistics.median(r.rate for r in with_))}", ""))
    lines.append(row("Daemon CPU per event, utime+stime", f"≤ {TARGET_US_PER_EVENT:g} µs",
                     f"{us_ticks:.3f} µs ({ticks} ticks of {1000 / CLK_TCK:g} ms over "
                     f"{events:,} events)", yes_no(us_ticks <= TARGET_US_PER_EVENT)))
    lines.append(row("Daemon CPU per event, schedstat (ns resolution)",
                     f"≤ {TARGET_US_PER_EVENT:g} µs",
                     f"{us_sched:.3f} µs, i.e. {us_sched:.3f} ms per 1,000 events",
                     yes_no(us_sched <= TARGET_US_PER_EVENT)))
    lines.append(row("Daemon wake-ups while storming", "",
                     f"{sum(r.cpu.wakeups for r in with_) / sum(r.elapsed for r in with_):.1f}/s",
                     ""))
    lines.append(row("BPF run time per exec (in the kernel, paid by every exec; not in the "
                     "daemon's CPU)", "", f"{bpf_us:.2f} µs (all programs' run time / execs)", ""))
    lines.append(row("Lost events at the highest exec rate", "0",
                     f"{lost} (every run with the default ring: "
                     f"{sum(r.lost for r in all_with if r.ring == DEFAULT_RING)})",
                     yes_no(lost == 0)))
    lines.append(row("Every exec and exit counted exactly", "PASS",
                     f"{'PASS' if exact == len(with_) else 'FAIL'} ({exact}/{len(with_)} runs)",
                     yes_no(exact == len(with_))))
    lines.append(row("Daemon peak RSS (VmHWM)", "",
                     f"{memory['VmHWM']:.1f} MiB; at the end VmRSS {memory['VmRSS']:.1f} MiB, "
                     f"of which RssAnon {memory['RssAnon']:.1f} MiB", ""))
    if typical.with_:
        lines.append(row(f"Typical program (`{TYPICAL_PROGRAM}`, dynamic glibc), ratio of "
                         "median rates", f"≥ {TARGET_RATIO}",
                         f"{typical.describe()}; from CPU per exec {typical.cpu_ratio:.3f}",
                         yes_no(typical.met())))
    return lines + [""]


def sweep_table(sweep_runs):
    lines = ["Exec rate by number of storm workers:", ""]
    lines += header(("Workers", "Without", "With", "Ratio", "Lost", "Exact"))
    for wo, w in zip(sweep_runs[::2], sweep_runs[1::2]):
        lines.append(row(wo.workers, fmt_rate(wo.rate), fmt_rate(w.rate),
                         f"{w.rate / wo.rate:.3f}", w.lost, "PASS" if w.exact else "FAIL"))
    return lines + [""]


def bpf_table(bpf_run, seconds):
    lines = [f"BPF programs, one {seconds:g} s run with kernel.bpf_stats_enabled=1 "
             f"({fmt_rate(bpf_run.rate)}; the statistics add two clock reads per run):", ""]
    lines += header(("Program", "Runs", "ns per run"))
    for p in sorted(bpf_run.bpf, key=lambda p: p["name"]):
        lines.append(row(f"`{p['name']}`", f"{p['run_cnt']:,}", f"{ns_per_run(p):,.0f}"))
    return lines + [""]


def ring_table(default_runs, ring_runs, fastest):
    lines = [f"Ring buffer size (poll_interval {DEFAULT_POLL_MS}ms, wake-up when a quarter full), "
             f"P={fastest}:", ""]
    lines += header(("ring_buffer_size", "Exec rate", "Lost", "Exact", "Daemon µs/event",
                     "Wake-ups/s", "VmRSS at the end"))
    configurations = [(f"{DEFAULT_RING} (default)", default_runs)]
    configurations += [(r.ring, [r]) for r in ring_runs]
    for label, runs in configurations:
        exact = "PASS" if all(r.exact for r in runs) else "FAIL"
        lines.append(row(label, fmt_rate(statistics.median(r.rate for r in runs)),
                         sum(r.lost for r in runs), exact,
                         f"{daemon_us_per_event(runs):.3f}",
                         f"{sum(r.cpu.wakeups for r in runs) / sum(r.elapsed for r in runs):.1f}",
                         f"{max(r.memory_kib.get('VmRSS', 0) for r in runs) / 1024:.1f} MiB"))
    return lines + [""]


def noise_note(every_run):
    noisy = [r for r in every_run if not r.quiet]
    if not noisy:
        return [f"Noise: no run saw other load above {NOISE_CORES} cores or other tracing BPF "
                "programs."]
    return [f"Noise: {len(noisy)} of {len(every_run)} runs had other load above {NOISE_CORES} "
            "cores or other tracing BPF programs loaded (see the per-run lines): their rates "
            "are unreliable; rerun on a quiet machine."]


def summarize(machine, revision, binaries, plan, fastest, phases, started):
    sweep_runs, pair_runs, bpf_run, ring_runs, typical_runs, monitors = phases
    if not pair_runs:  # --monitors-only
        return "\n".join(describe_setup(machine, revision, binaries, plan, fastest, started)
                         + peers.monitors_table(monitors, " ".join(machine["loadavg"])))
    main = Comparison.of(pair_runs)
    every_run = sweep_runs + pair_runs + [bpf_run] + ring_runs + typical_runs
    lines = describe_setup(machine, revision, binaries, plan, fastest, started)
    lines += targets_table(main, Comparison.of(typical_runs), bpf_run,
                           [r for r in every_run if r.with_daemon])
    lines += sweep_table(sweep_runs)
    lines += bpf_table(bpf_run, plan.bpf_seconds)
    lines += ring_table(main.with_, ring_runs, fastest)
    lines += noise_note(every_run)
    lines += [""] + peers.monitors_table(monitors, " ".join(machine["loadavg"]))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build_dir", help="the CMake build directory (has daemon/execmond)")
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer pairs")
    parser.add_argument("--monitors-only", action="store_true",
                        help="only phase 6: monitors side by side (P=2 storm workers)")
    parser.add_argument("--pairs", type=int, help="pairs of runs without / with execmond")
    parser.add_argument("--pair-seconds", type=float, help="length of each run of a pair")
    parser.add_argument("--markdown", help="also write the summary to this file")
    parser.add_argument("--daemon-config", default="",
                        help="YAML appended to the daemon's configuration in phases 1-5, "
                             "e.g. 'exec_failures: false'")
    parser.add_argument("--monitor", action="append", default=[],
                        help="phase 6: only the monitors whose name contains this "
                             "(repeatable); with --monitors-only, --pairs sets its pairs")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run-benchmark: run as root: execmond loads BPF programs", file=sys.stderr)
        return 1
    plan = QUICK_PLAN if args.quick else FULL_PLAN
    Daemon.extra_config = args.daemon_config.replace("\\n", "\n").rstrip("\n") + "\n" \
        if args.daemon_config else ""
    plan.pairs = args.pairs or plan.pairs
    plan.pair_seconds = args.pair_seconds or plan.pair_seconds
    started = time.time()
    machine = machine_info()

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    work_dir = tempfile.mkdtemp(prefix="execmond-bench-")
    bench = None
    try:
        binaries = prepare_binaries(os.path.abspath(args.build_dir), work_dir)
        bench = Bench(binaries, work_dir)
        print(f"execmond exec-storm benchmark: {machine['nproc']} CPUs, {machine['cpu']}, "
              f"Linux {machine['kernel']}; storm name {os.path.basename(binaries.minimal)}",
              flush=True)
        if args.monitors_only:
            plan.peer_pairs = args.pairs or plan.peer_pairs
            monitors = peers.run_monitors(bench, 2, plan, args.monitor)
            summary = summarize(machine, source_revision(), binaries, plan, 2,
                                ([], [], None, [], [], monitors), started)
            print("\n" + summary)
            if args.markdown:
                with open(args.markdown, "w") as f:
                    f.write(summary + "\n")
            return 0
        sweep_runs, fastest = sweep(bench, plan)
        print(f"[2/5] pairs: {plan.pairs} x (without, with) at P={fastest}, "
              f"{plan.pair_seconds:g} s each")
        pair_runs = alternate(bench, "pair", plan.pairs, fastest, plan.pair_seconds)
        bpf_run = bpf_cost(bench, plan, fastest)
        print(f"[4/5] rings: {', '.join(plan.small_rings)} (default {DEFAULT_RING}), "
              f"{plan.ring_seconds:g} s at P={fastest}")
        ring_runs = [bench.with_daemon("ring", fastest, plan.ring_seconds, ring=ring)
                     for ring in plan.small_rings]
        print(f"[5/5] typical: {plan.typical_pairs} x (without, with) of {TYPICAL_PROGRAM} at "
              f"P={fastest}, {plan.typical_seconds:g} s each")
        typical_runs = alternate(bench, "typical", plan.typical_pairs, fastest,
                                 plan.typical_seconds, binaries.typical)
        monitors = peers.run_monitors(bench, fastest, plan, args.monitor)
        summary = summarize(machine, source_revision(), binaries, plan, fastest,
                            (sweep_runs, pair_runs, bpf_run, ring_runs, typical_runs, monitors),
                            started)
        print("\n" + summary)
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(summary + "\n")
        return 0
    except BenchmarkError as error:
        print(f"run-benchmark: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as stop:
        print(f"run-benchmark: interrupted ({stop})", file=sys.stderr)
        return 130
    finally:
        if bench:
            bench.cleanup()
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

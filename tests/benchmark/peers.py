"""The monitors phase of run-benchmark.py: execmond in several configurations and its
peers, side by side, each as ratios to no monitor at all.

For each monitor: the cheapest-exec storm and the /bin/true storm (alternating runs
without and with it), the per-syscall tax on every other program (a getppid loop), and
the BPF run time of its programs per exec+exit (kernel.bpf_stats_enabled=1 for that
run, restored afterwards).

A configuration this execmond rejects (exit status 3: a key from a branch not merged
yet) is skipped and said so.
"""

import json
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import time
from dataclasses import dataclass, field

BPFTRACE_ONE_LINER = ("tracepoint:sched:sched_process_exec { @execs[comm] = count(); } "
                      "tracepoint:sched:sched_process_exit { @exits[comm] = count(); }")

# name, how it runs: ("execmond", extra config) or ("command", argv)
def _allow(patterns):
    return lambda binaries: ("binaries:\n  allow: [" +
                             ", ".join(f'"{p}"' for p in patterns(binaries)) + "]\n")


def _shipped_allow_list():
    """The patterns of the shipped configuration's `binaries: allow:` list."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config",
                        "execmond.yaml")
    with open(path) as f:
        text = f.read()
    section = text[text.index("\nbinaries:"):]
    return re.findall(r'^\s+- "([^"]+)"', section, re.M)


SHIPPED_ALLOW_LIST = _shipped_allow_list()
UNEXPECTED = 2  # enum execmond_verdict EXECMOND_VERDICT_UNEXPECTED

# (name, (kind, how[, seed])): for execmond, `how` is configuration text, or a function
# of the benchmark's binaries that returns it. The shipped allow-list admits the storm's
# files once their work directory (under /tmp, which no allow-list names) is added. `seed`
# writes that verdict for the storm's files into the daemon's kernel cache once it is
# attached, as a daemon that caches unexpected verdicts does after their first exec.
MONITORS = [
    ("execmond, no binaries section", ("execmond", "")),
    ("execmond exec_failures: false", ("execmond", "exec_failures: false\n")),
    ("execmond labels [comm, unit]", ("execmond", "labels: [comm, unit]\n")),
    ("execmond shipped allow-list, storm allowed",
     ("execmond", _allow(lambda b: SHIPPED_ALLOW_LIST + [os.path.dirname(b.minimal) + "/*"]))),
    ("execmond shipped allow-list, storm unexpected, verdict cached",
     ("execmond", _allow(lambda b: SHIPPED_ALLOW_LIST), UNEXPECTED)),
    ("execmond shipped allow-list, storm unexpected, no verdict (a record per exec)",
     ("execmond", _allow(lambda b: SHIPPED_ALLOW_LIST))),
    ("bpftrace exec+exit by comm", ("command", ["bpftrace", "-e", BPFTRACE_ONE_LINER])),
    ("libbpf-tools execsnoop > /dev/null", ("command", ["execsnoop"])),
]


class Skipped(Exception):
    """This monitor cannot run here: say why in the table, go on with the others."""


def held_program_ids(pid, kind="prog"):
    """The ids of the BPF programs (or maps: kind "map") process `pid` holds, from its
    descriptors' fdinfo."""
    ids = set()
    fdinfo = f"/proc/{pid}/fdinfo"
    try:
        fds = os.listdir(fdinfo)
    except OSError:
        return ids
    for fd in fds:
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                match = re.search(rf"^{kind}_id:\s*(\d+)", f.read(), re.M)
        except OSError:
            continue
        if match:
            ids.add(int(match.group(1)))
    return ids


def seed_verdict(pid, paths, verdict):
    """Writes `verdict` for each file's identity, judged in the host's view, into the
    binary_verdicts map of the execmond process `pid` (bpf/execmond.h
    struct execmond_binary_id: ino, ctime_ns, the kernel's dev, view 0)."""
    for map_id in held_program_ids(pid, "map"):
        shown = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "id", str(map_id)],
                                          capture_output=True, text=True, check=True).stdout)
        if shown.get("name") != "binary_verdicts":
            continue
        for path in paths:
            st = os.stat(path)
            dev = (os.major(st.st_dev) << 20) | os.minor(st.st_dev)
            key = struct.pack("<QQII", st.st_ino, st.st_ctime_ns, dev, 0)
            subprocess.run(["bpftool", "map", "update", "id", str(map_id), "key", "hex",
                            *(f"{b:02x}" for b in key), "value", "hex",
                            *(f"{b:02x}" for b in struct.pack("<I", verdict))],
                           check=True, capture_output=True)
        return
    raise Skipped("no binary_verdicts map in this execmond: it predates verdicts")


class Monitor:
    """One monitor process, started and attached at construction."""

    def __init__(self, kind, how, binaries, work_dir, name, seed=None):
        self.process = None
        tag = re.sub(r"\W+", "-", name)
        self.log_path = os.path.join(work_dir, f"monitor-{tag}.log")
        if kind == "execmond":
            if callable(how):
                how = how(binaries)
            config = os.path.join(work_dir, f"monitor-{tag}.yaml")
            with open(config, "w") as f:
                f.write('listen: "127.0.0.1:0"\nlog_level: info\n' + how)
            check = subprocess.run([binaries.execmond, "--check-config", "--config", config],
                                   capture_output=True, text=True)
            if check.returncode == 3:
                why = (check.stderr.strip().splitlines() or ["?"])[-1]
                why = re.sub(r"^.*?:\d+:\d+: ", "", why)  # the file's path says nothing
                raise Skipped(f"this execmond rejects the configuration (exit 3: {why[:60]})")
            argv = [binaries.execmond, "--config", config]
        else:
            if not shutil.which(how[0]):
                raise Skipped(f"{how[0]} is not installed (apt-get install "
                              f"{'bpftrace' if how[0] == 'bpftrace' else 'libbpf-tools'})")
            argv = how
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL if kind != "execmond"
                                            else log, stderr=log, start_new_session=True)
        self.prog_ids = self._wait_attached(kind)
        if seed is not None:
            seed_verdict(self.process.pid, [binaries.minimal, binaries.typical], seed)

    def _wait_attached(self, kind, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                with open(self.log_path) as f:
                    raise Skipped(f"exited with status {self.process.returncode}: "
                                  f"{f.read().strip()[-200:]}")
            with open(self.log_path) as f:
                log = f.read()
            ids = held_program_ids(self.process.pid)
            if ids and (kind != "execmond" or "ready:" in log):
                time.sleep(0.5)  # bpftrace and execsnoop attach after loading
                return held_program_ids(self.process.pid)
            time.sleep(0.1)
        self.stop()
        raise Skipped("did not attach within a minute")

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class MonitorResult:
    name: str
    skipped: str = ""
    storm_ratios: list = field(default_factory=list)
    typical_ratios: list = field(default_factory=list)
    tax_ns: tuple = (0.0, 0.0)  # getppid ns without, with
    programs: list = field(default_factory=list)  # (name, runs, ns per run)
    bpf_ns_per_exec: float = 0.0  # every program's run time / execs of the storm
    noisy: int = 0  # runs with other load or foreign tracing programs

    @property
    def storm_ratio(self):
        return statistics.median(self.storm_ratios) if self.storm_ratios else float("nan")

    @property
    def typical_ratio(self):
        return statistics.median(self.typical_ratios) if self.typical_ratios else float("nan")

    @property
    def tax(self):
        return self.tax_ns[1] / self.tax_ns[0] if self.tax_ns[0] else float("nan")


def syscall_tax_ns(binary):
    out = subprocess.run([binary, "1000000", "7"], capture_output=True, text=True, timeout=120)
    return float(out.stdout.strip())


def measure(bench, name, kind, how, workers, plan, seed=None):
    result = MonitorResult(name)
    bin_ = bench.bin
    try:
        for _ in range(plan.peer_pairs):
            without = bench.storm_run("peers", bin_.minimal, workers, plan.peer_seconds, False)
            monitor = Monitor(kind, how, bin_, bench.work_dir, name, seed)
            try:
                with_ = bench.storm_run("peers", bin_.minimal, workers, plan.peer_seconds, True,
                                        monitor.prog_ids)
            finally:
                monitor.stop()
            result.storm_ratios.append(with_.rate / without.rate)
            result.noisy += (not without.quiet) + (not with_.quiet)

        tax_without = syscall_tax_ns(bin_.syscall_tax)
        typical_without = bench.storm_run("peers", bin_.typical, workers, plan.peer_seconds,
                                          False)
        monitor = Monitor(kind, how, bin_, bench.work_dir, name, seed)
        try:
            tax_with = syscall_tax_ns(bin_.syscall_tax)
            typical_with = bench.storm_run("peers", bin_.typical, workers, plan.peer_seconds,
                                           True, monitor.prog_ids)
            bench.enable_bpf_stats()
            before = {p["id"]: p for p in bench_programs(monitor.prog_ids)}
            storm = bench.storm_run("peers", bin_.minimal, workers, plan.peer_seconds, True,
                                    monitor.prog_ids)
            after = bench_programs(monitor.prog_ids)
            bench.restore_bpf_stats()
        finally:
            bench.restore_bpf_stats()
            monitor.stop()
        result.tax_ns = (tax_without, tax_with)
        result.typical_ratios.append(typical_with.rate / typical_without.rate)
        total_ns = 0
        for p in after:
            b = before.get(p["id"], {})
            runs = p.get("run_cnt", 0) - b.get("run_cnt", 0)
            ns = p.get("run_time_ns", 0) - b.get("run_time_ns", 0)
            total_ns += ns
            result.programs.append((p.get("name", "?"), runs, ns / runs if runs else 0.0))
        result.bpf_ns_per_exec = total_ns / storm.execs if storm.execs else 0.0
    except Skipped as why:
        result.skipped = str(why)
    return result


def bench_programs(ids):
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         timeout=30, check=True)
    return [p for p in json.loads(out.stdout or "[]") if p["id"] in ids]


def run_monitors(bench, workers, plan, only=()):
    print(f"[monitors] {len(MONITORS)} monitors: {plan.peer_pairs} storm pairs of "
          f"{plan.peer_seconds:g} s, one /bin/true pair, the getppid tax and BPF run time each",
          flush=True)
    results = []
    for name, (kind, how, *seed) in MONITORS:
        if only and not any(part in name for part in only):
            continue
        result = measure(bench, name, kind, how, workers, plan, *seed)
        if result.skipped:
            print(f"  {name}: skipped: {result.skipped}", flush=True)
        else:
            print(f"  {name}: storm {result.storm_ratio:.3f} ({', '.join(f'{r:.3f}' for r in result.storm_ratios)}), "
                  f"/bin/true {result.typical_ratio:.3f}, getppid {result.tax_ns[0]:.1f} -> "
                  f"{result.tax_ns[1]:.1f} ns ({result.tax:.2f}x), BPF "
                  f"{result.bpf_ns_per_exec:.0f} ns per exec+exit", flush=True)
            for program, runs, ns in result.programs:
                print(f"      {program:28} {runs:9} runs {ns:7.0f} ns/run", flush=True)
        results.append(result)
    return results


def monitors_table(results, loadavg):
    lines = [f"Monitors side by side, as ratios to no monitor (load average before the phase: "
             f"{loadavg}):", ""]
    lines.append("| Monitor | Cheapest-exec storm | `/bin/true` storm | getppid tax | "
                 "BPF per exec+exit |")
    lines.append("|---|---|---|---|---|")
    for r in results:
        if r.skipped:
            lines.append(f"| {r.name} | skipped: {r.skipped} | | | |")
            continue
        lines.append(f"| {r.name} | {r.storm_ratio:.3f} | {r.typical_ratio:.3f} | "
                     f"{r.tax:.2f}x ({r.tax_ns[0]:.0f} → {r.tax_ns[1]:.0f} ns) | "
                     f"{r.bpf_ns_per_exec / 1000:.2f} µs |")
    allowed = next((r for r in results if "storm allowed" in r.name and not r.skipped), None)
    cached = next((r for r in results if "verdict cached" in r.name and not r.skipped), None)
    if allowed and cached and allowed.bpf_ns_per_exec:
        lines.append("")
        lines.append(f"An unexpected binary whose verdict is cached costs "
                     f"{cached.bpf_ns_per_exec / allowed.bpf_ns_per_exec:.2f}x the BPF time "
                     f"per exec+exit of an allowed one (target: at most 1.2x).")
    lines.append("")
    lines.append("BPF ns per run, by program:")
    lines.append("")
    for r in results:
        if r.skipped or not r.programs:
            continue
        lines.append(f"- {r.name}: " + ", ".join(f"`{p}` {ns:.0f} ns × {runs:,}"
                                                for p, runs, ns in r.programs))
    noisy = sum(r.noisy for r in results)
    if noisy:
        lines.append("")
        lines.append(f"Noise: {noisy} storm runs of this phase had other load or foreign "
                     "tracing programs (other monitors, other engineers' daemons): rerun on a "
                     "quiet machine for figures to quote.")
    return lines + [""]

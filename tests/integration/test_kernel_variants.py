"""The kernel variants against the real kernel: which programs a daemon gets as root and
as a non-root user with capabilities, what a renamed process is counted as, and how
close a lifetime is to the truth when task storage is created only when needed."""

import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import EXIT_PROGRAMS, Daemon, held_program_ids, loaded_programs
from test_trace import Trace, matches, wall_ns

# The bound on how much earlier than its exec a lifetime may start (lifecycle.bpf.h
# EXEC_AFTER_FORK_NS): a process that execs later than this after its fork gets task
# storage holding its exec time.
EXEC_AFTER_FORK_NS = 1_000_000

# Names as the kernel keeps them: 15 bytes.
FAILED_EXEC_PROGRAMS = {name[:15] for name in (
    "handle_execve_return", "handle_execveat_return", "handle_execve_kretprobe",
    "handle_execveat_kretprobe", "handle_execve_exit", "handle_execveat_exit")}


@pytest.fixture
def public_dir():
    """A directory any user may read (pytest's tmp_path is root's alone)."""
    path = tempfile.mkdtemp(prefix="execmond-kernel-")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


class CapabilityDaemon(Daemon):
    """The daemon as uid nobody holding only the capabilities given, from a copy of the
    binary and a configuration that user may read."""

    def __init__(self, binary, config_text, directory, capabilities):
        super().__init__(binary, config_text, pathlib.Path(directory))
        os.chmod(self.config, 0o644)
        self.prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                       f"--inh-caps=-all,{capabilities}", f"--ambient-caps=-all,{capabilities}"]

    def start(self):
        self.log_file = open(self.log, "w")
        self.proc = subprocess.Popen(
            [*self.prefix, self.binary, "--config", str(self.config),
             "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while "ready:" not in self.log.read_text():
            assert self.proc.poll() is None, f"execmond exited:\n{self.log.read_text()}"
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)
        return self


def sysctl_stats():
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        return f.read().strip()


def test_non_root_with_capabilities_keeps_task_storage(execmond_binary, workload, public_dir):
    """uid nobody holding only CAP_BPF and CAP_PERFMON cannot read tracefs: failed execs
    are given up, task storage is kept, and the log says so truthfully; a process that
    renames itself is still counted under the name it exec'd as."""
    binary = os.path.join(public_dir, "execmond")
    shutil.copy2(execmond_binary, binary)
    d = CapabilityDaemon(binary, "log_level: debug\n", public_dir, "+bpf,+perfmon").start()
    try:
        with open(f"/proc/{d.proc.pid}/status") as f:
            assert "\nUid:\t65534\t65534\t65534\t65534\n" in f.read()
        log = d.log.read_text()
        variant = next(line for line in log.splitlines() if "kernel variant:" in line)
        assert "task storage: lifetimes start at exec" in variant, log
        assert "no task storage" not in log, log
        assert "not readable by this user" in variant, log
        assert "handle_rename" in log, log

        comm = workload.name("r")
        assert workload.run(comm, "--rename", "renamedleader", "--sleep-ms", 20) == 0
        m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 1)
        assert m.get("execmond_execs_total", comm=comm) == 1
        assert m.get("execmond_exits_total", comm=comm) == 1
        assert m.get("execmond_exits_total", comm="renamedleader") == 0

        # No CAP_SYS_ADMIN to time its programs: said in the log and in a gauge, unless
        # the administrator turned the statistics on for the whole host (a benchmark may,
        # for a while: the gauge follows the sysctl).
        assert "BPF run-time statistics are off" in log or sysctl_stats() == "1", log
        for _ in range(5):
            before = sysctl_stats()
            m = d.metrics()
            if sysctl_stats() == before:
                break
        assert m.get("execmond_bpf_stats_enabled") == float(before)
        programs = [k for k in m.samples if k[0] == "execmond_bpf_program_runs_total"]
        assert bool(programs) == (before == "1")
    finally:
        if d.proc.poll() is None:
            d.proc.terminate()
        assert d.proc.wait(timeout=30) == 0
        d.log_file.close()


def test_renamed_leader_exits_under_its_exec_name(daemon_factory, workload):
    """With task storage, a process that renames itself (a daemon setting its title) is
    counted under the name it exec'd as, whether its main thread or a worker ends it."""
    d = daemon_factory()
    comm = workload.name("n")
    statuses = workload.run_parallel(
        [(comm, ["--rename", "renamedleader", "--sleep-ms", 30])] * 3 +
        [(comm, ["--rename", "renamedleader", "--threads", 2, "--leader-exits-first",
                 "--sleep-ms", 60, "--exit", 4])] * 2)
    assert statuses == [0] * 3 + [4] * 2
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) >= 5)
    assert m.get("execmond_exits_total", comm=comm) == 5
    assert m.get("execmond_exits_nonzero_total", comm=comm) == 2
    assert m.get("execmond_exits_total", comm="renamedleader") == 0


def test_lifetimes_are_within_the_bound_of_their_exec(execmond_binary, workload, tmp_path):
    """Every traced exit starts at its exec or at most EXEC_AFTER_FORK_NS before it, and
    a process that execs long after its fork is timed from that exec exactly."""
    trace = Trace([execmond_binary, "trace", "--json"], tmp_path / "trace.stderr")
    try:
        ready = workload.name("y")
        trace.sync(lambda: workload.run(ready),
                   lambda line: matches(line, {"type": "exit", "comm": ready}), "ready")
        quick, late, target = workload.name("q"), workload.name("l"), workload.name("t")
        workload.run_parallel([(quick, ["--sleep-ms", 5])] * 10 +
                              [(late, ["--sleep-ms", 300, "--exec", workload.path(target)])] * 3)
        deadline = time.monotonic() + 10
        while sum(matches(line, {"type": "exit"}) and (matches(line, {"comm": quick}) or
                                                       matches(line, {"comm": target}))
                  for _, line in list(trace.lines)) < 13 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        trace.stop()
    events = trace.events()
    execs = {e["pid"]: e for e in events if e["type"] == "exec"}
    exits = [e for e in events if e["type"] == "exit" and e["comm"] in (quick, target)]
    assert len(exits) == 13
    for exit_ in exits:
        exec_ = execs[exit_["pid"]]
        early = wall_ns(exec_["time"]) - wall_ns(exit_["start_time"])
        assert 0 <= early <= EXEC_AFTER_FORK_NS, (exec_, exit_)
        assert exit_["start_is_fork"] is False
        if exit_["comm"] == target:  # exec'd 300 ms after its fork: timed from the exec
            assert early == 0, (exec_, exit_)
            assert exit_["lifetime_ns"] < 100_000_000


@pytest.mark.parametrize("enabled", [True, False])
def test_exec_failures_key_loads_or_leaves_out_the_hook(daemon_factory, workload, enabled):
    """exec_failures: true counts a failed exec through the cheapest hook the kernel
    allows, and the log names it; false loads no failed-exec program at all."""
    d = daemon_factory(f"exec_failures: {str(enabled).lower()}\n")
    mine = {name for i, name in loaded_programs().items() if i in held_program_ids(d.proc.pid)}
    hooks = {name for name in mine if name[:15] in FAILED_EXEC_PROGRAMS}
    variant = next(line for line in d.log.read_text().splitlines() if "kernel variant:" in line)
    caller = workload.name("x")
    assert workload.run(caller, "--exec", "/nonexistent/execmond-test") == 127
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=caller) == 1)
    failures = m.get("execmond_exec_failures_total", comm=caller, errno="ENOENT")
    if enabled:
        assert len(hooks) == 2, mine
        assert "failed execs through" in variant
        assert failures == 1
    else:
        assert not hooks, mine
        assert "exec_failures: false" in variant
        assert failures == 0


def test_bpf_program_run_time_is_exported(daemon_factory, workload):
    """execmond_bpf_program_runs_total and _run_seconds_total cover the daemon's own
    programs: every exec and exit of a known workload is a run, each a plausible time."""
    before = open("/proc/sys/kernel/bpf_stats_enabled").read()
    d = daemon_factory()
    comm = workload.name("c")
    workload.run_parallel([(comm, [])] * 20)
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 20)
    runs = {dict(k[1])["program"]: v for k, v in m.samples.items()
            if k[0] == "execmond_bpf_program_runs_total"}
    seconds = {dict(k[1])["program"]: v for k, v in m.samples.items()
               if k[0] == "execmond_bpf_program_run_seconds_total"}
    assert m.get("execmond_bpf_stats_enabled") == 1
    exit_program = (EXIT_PROGRAMS & runs.keys()).pop()
    assert runs.keys() == seconds.keys() and "handle_exec" in runs
    for program in ("handle_exec", exit_program):
        assert runs[program] >= 20, runs
        assert 10e-9 < seconds[program] / runs[program] < 100e-6, (program, seconds, runs)
    # Statistics are on for as long as the daemon holds them; the sysctl is untouched.
    assert open("/proc/sys/kernel/bpf_stats_enabled").read() == before
    assert d.stop() == 0

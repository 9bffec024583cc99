# SPDX-License-Identifier: Apache-2.0
"""`execmond trace` against the real kernel: every exec, exit and failed exec of a known
workload exactly once with the right fields, JSON that always parses, the table, the
filters, prompt output through a pipe, agreement with libbpf-tools' execsnoop and
exitsnoop, and a clean stop.

Each test names its processes with a random prefix of its own, so that other activity
on the host cannot change what it counts.
"""

import calendar
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from conftest import (EXIT_PROGRAMS, held_program_ids, leaked_execmond_programs, loaded_programs,
                      require_tool)

TIMEOUT = 20  # seconds to wait for a line: generous, the host may be building
TABLE_HEADER = ("TIME     EVENT COMM             PID     PPID    UNIT                     "
                "FILENAME/EXIT CODE")
RFC3339_NS = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{9})Z")
NOBODY = 65534
NOBODY_GID = 65533  # not the uid: a filter on the wrong id would show


class OutputLines:
    """A process whose stdout is read as it comes, each line stamped with the wall-clock
    time it was read. Reading all along also keeps a full pipe from blocking it."""

    def __init__(self, argv, stderr_path):
        self.stderr_path = stderr_path
        with open(stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr)
        self.lines = []  # [(time read, bytes without the newline)]
        self._eof = False
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        fd, pending = self.proc.stdout.fileno(), b""
        while chunk := os.read(fd, 1 << 16):
            read_at = time.time()
            *complete, pending = (pending + chunk).split(b"\n")
            with self._changed:
                self.lines.extend((read_at, line) for line in complete)
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    def command(self):
        return " ".join(map(str, self.proc.args))[:100]

    def stderr(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def find(self, predicate, timeout):
        """The first (time read, line) that predicate(line) accepts, or None after timeout."""
        deadline, checked = time.monotonic() + timeout, 0
        with self._changed:
            while True:
                for entry in self.lines[checked:]:
                    if predicate(entry[1]):
                        return entry
                checked = len(self.lines)
                if deadline <= time.monotonic() or self._eof:
                    return None
                self._changed.wait(deadline - time.monotonic())

    def expect(self, predicate, what, timeout=TIMEOUT):
        found = self.find(predicate, timeout)
        assert found, f"{self.command()} printed no {what}; stderr:\n{self.stderr()}"
        return found

    def sync(self, action, predicate, what):
        """Repeats action() until a line for it comes out: attached and reading."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and not self._eof:
            action()
            if self.find(predicate, 0.5):
                return
        raise AssertionError(f"{self.command()} never printed {what}:\n{self.stderr()}")

    def stop(self, sig=signal.SIGINT):
        """Stops the process, waits for the rest of its output; returns its exit status."""
        self.proc.send_signal(sig)
        status = self.proc.wait(timeout=30)
        with self._changed:
            assert self._changed.wait_for(lambda: self._eof, timeout=30)
        self.proc.stdout.close()
        return status

    def text_lines(self, errors="strict"):
        return [line.decode("utf-8", errors) for _, line in self.lines]


class Trace(OutputLines):
    def events(self):
        """Every process event (exec, exit, failed exec) as JSON; every line, "content"
        lines included, must be a UTF-8 JSON object on its own."""
        lines = [json.loads(line) for _, line in self.lines]
        return [e for e in lines if e["type"] != "content"]

    def content_events(self):
        """The "content" lines: a file's digest and verdict, after an exec shown without."""
        return [e for e in map(json.loads, (line for _, line in self.lines))
                if e["type"] == "content"]

    def expect_event(self, **fields):
        """Waits for the JSON event with these fields; returns (time read, event)."""
        read_at, line = self.expect(lambda line: matches(line, fields), f"event {fields}")
        return read_at, json.loads(line)


def matches(line, fields):
    """Whether a JSON line has these fields (values without escapes)."""
    if not all(json.dumps(v).encode() in line for v in fields.values()):
        return False  # cheap test first: host-wide traces are long
    event = json.loads(line)
    return all(event.get(k) == v for k, v in fields.items())


def wall_ns(text):
    """Nanoseconds since the epoch of an RFC 3339 UTC time with 9 fraction digits."""
    m = RFC3339_NS.fullmatch(text)
    assert m, f"not RFC 3339 with nanoseconds: {text!r}"
    *fields, fraction = (int(g) for g in m.groups())
    return calendar.timegm((*fields, 0, 0, 0)) * 10**9 + fraction


def unescape(text):
    """The bytes behind execmond's escaped text: `\\\\` and `\\xHH`, the rest UTF-8."""
    out, i = bytearray(), 0
    while i < len(text):
        if text.startswith("\\\\", i):
            out, i = out + b"\\", i + 2
        elif text.startswith("\\x", i):
            out, i = out + bytes([int(text[i + 2:i + 4], 16)]), i + 4
        else:
            out, i = out + text[i].encode(), i + 1
    return bytes(out)


def run_workload(workload, name, *args):
    """Runs the workload (bytes arguments passed as they are) to its end; returns (pid,
    exit status as Popen reports it)."""
    argv = [workload.path(name), *(a if isinstance(a, bytes) else str(a) for a in args)]
    proc = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    return proc.pid, proc.wait(timeout=60)


def one(events, **fields):
    """The one event with these fields (a host-wide trace may see a pid used again)."""
    found = [e for e in events if all(e[k] == v for k, v in fields.items())]
    assert len(found) == 1, f"{len(found)} events {fields}: {found}"
    return found[0]


def comms_shown(trace, prefix):
    return {e["comm"] for e in trace.events() if e["comm"].startswith(prefix)}


def table_row(line):
    """(event, comm, pid, ppid, rest) from the header's columns; the unit column holds a
    unit (test_units.py checks which)."""
    assert line[48:73].strip() and line[72] == " ", line
    return (line[9:15].rstrip(), line[15:32].rstrip(), int(line[32:40]), int(line[40:48]),
            line[73:])


# Runs under a name of the test's choosing and, on request, renames itself, tries execs
# that fail, starts children or forks. Requests and replies are JSON lines.
ACTOR_SCRIPT = r"""
import ctypes, json, os, subprocess, sys
def reply(value):
    print(json.dumps(value), flush=True)
def run(argv):
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
reply({"pid": os.getpid()})
for request in sys.stdin:
    op, *args = json.loads(request)
    try:
        if op == "rename":  # prctl(PR_SET_NAME)
            reply({"result": ctypes.CDLL(None).prctl(15, bytes.fromhex(args[0]), 0, 0, 0)})
        elif op == "exec":  # execve(path)
            os.execv(args[0], [args[0]])
        elif op == "fexec":  # execveat(fd, "", AT_EMPTY_PATH)
            os.execve(os.open(args[0], os.O_RDONLY), [args[0]], {})
        elif op == "run":
            child = run(args)
            reply({"pid": child.pid, "status": child.wait()})
        elif op == "fork_exit":  # a child that never execs
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
            reply({"pid": pid})
        elif op == "fork_run":  # a child that never execs starts a grandchild
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                grandchild = run(args)
                grandchild.wait()
                os.write(w, str(grandchild.pid).encode())
                os._exit(0)
            os.waitpid(pid, 0)
            reply({"pid": pid, "grandchild": int(os.read(r, 32))})
    except OSError as error:
        reply({"errno": error.errno})
"""


class Actor:
    """The actor script run through a symlink to Python named `name`: that is its comm."""

    def __init__(self, workload, name):
        self.path = os.path.join(workload.directory, name)
        os.symlink(sys.executable, self.path)
        self.proc = subprocess.Popen([self.path, "-I", "-S", "-c", ACTOR_SCRIPT], text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.pid = self.proc.pid
        assert self._reply() == {"pid": self.pid}

    def _reply(self):
        line = self.proc.stdout.readline()
        assert line, "the actor died"
        return json.loads(line)

    def call(self, *request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._reply()

    def close(self):
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0


@pytest.fixture
def prefix(workload):
    """A name prefix of 9 bytes unique to this test: comms are prefix + a tag of <= 6."""
    return workload.name()


@pytest.fixture
def readers(tmp_path):
    """readers(CLASS, ARGV) starts ARGV as an OutputLines CLASS; kills it at the end
    if it is still running."""
    started = []

    def start(kind, argv):
        started.append(kind(argv, tmp_path / f"{len(started)}.stderr"))
        return started[-1]

    yield start
    for reader in started:
        if reader.proc.poll() is None:
            reader.proc.kill()
            reader.proc.wait()


@pytest.fixture
def tracer(execmond_binary, workload, prefix, readers):
    """tracer(ARGS, ready=TAG, event=TYPE) starts `execmond trace ARGS` and runs the
    workload as prefix+TAG until the trace prints that event for it (ready=None: the
    test syncs itself)."""

    def start(*args, ready="rdy", event="exit"):
        trace = readers(Trace, [execmond_binary, "trace", *args])
        if ready:
            name = prefix + ready
            if "--json" in args:
                printed = lambda line: matches(line, {"type": event, "comm": name})
            else:
                printed = lambda line: f" {event.upper()}  {name} ".encode() in line
            trace.sync(lambda: workload.run(name), printed, f"{event} of {name}")
        return trace

    return start


@pytest.fixture
def actors(workload):
    started = []

    def start(name):
        started.append(Actor(workload, name))
        return started[-1]

    yield start
    for actor in started:
        if actor.proc.poll() is None:
            actor.proc.kill()
            actor.proc.wait()


@pytest.fixture
def public_dir():
    """A directory any user may enter (pytest's tmp_path is root's alone)."""
    path = tempfile.mkdtemp(prefix="execmond-trace-")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path)


@pytest.fixture
def tracefs():
    """libbpf-tools attach classic tracepoints through tracefs (left mounted, as execmond
    itself leaves it)."""
    if not os.path.isdir("/sys/kernel/tracing/events"):
        subprocess.run(["mount", "-t", "tracefs", "tracefs", "/sys/kernel/tracing"], check=True)


def test_json_reports_each_event_once_with_its_fields(tracer, workload, prefix, actors):
    """Each exec, exit and failed exec of a known workload is printed exactly once with
    the pid, parent, name, path, argv (spaces, empty and non-UTF-8 arguments included),
    user, exit code or signal name, lifetime and consistent timestamps it really had."""
    trace = tracer("--json", "--comm", prefix + "*")
    began = time.time_ns()
    long_args = ["--sleep-ms", "300", "--thread-name", "with space", "--thread-name", "",
                 "--thread-name", b"\xff\xfe\\", "--thread-name", "h\u00e9llo", "--exit", "0"]
    runs = {  # name: (args, exit code or signal name)
        prefix + "slp": (long_args, 0),
        prefix + "ex": (["--exit", 7], 7),
        prefix + "te": (["--signal", int(signal.SIGTERM)], "SIGTERM"),
        prefix + "kl": (["--signal", int(signal.SIGKILL)], "SIGKILL"),
        prefix + "th": (["--threads", 4, "--leader-exits-first", "--thread-name", "othername",
                         "--sleep-ms", 50, "--exit", 5], 5),
    }
    finished = {name: run_workload(workload, name, *args) for name, (args, _) in runs.items()}
    assert [s for _, s in finished.values()] == [0, 7, -signal.SIGTERM, -signal.SIGKILL, 5]
    pids = {name: pid for name, (pid, _) in finished.items()}
    actor = actors(prefix + "fx")
    missing = os.path.join(workload.directory, "no-such-program")
    assert actor.call("exec", missing) == {"errno": 2}
    actor.close()
    trace.expect_event(type="exit", pid=actor.pid)
    ended = time.time_ns()
    assert trace.stop() == 0

    events = [e for e in trace.events() if e["comm"] != prefix + "rdy"]
    assert sorted((e["pid"], e["type"]) for e in events) == sorted(
        [(pid, kind) for pid in [*pids.values(), actor.pid] for kind in ("exec", "exit")]
        + [(actor.pid, "exec_failed")]), "each event exactly once, nothing else"
    with open("/proc/self/comm") as f:
        test_comm = f.read().rstrip("\n")
    for e in events:
        assert (e["ppid"], e["parent_comm"], e["uid"], e["gid"]) == (os.getpid(), test_comm, 0, 0)
        assert began - 10**9 <= wall_ns(e["time"]) <= ended + 10**9, e
    for name, (args, fate) in runs.items():
        exec_, exit_ = (one(events, type=kind, pid=pids[name]) for kind in ("exec", "exit"))
        path = workload.path(name)
        assert exec_["comm"] == exit_["comm"] == name, "the exec'd name, not a thread's"
        assert (exec_["filename"], exec_["filename_truncated"]) == (path, False)
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in [path, *args]]
        assert [unescape(a) for a in exec_["argv"]] == argv
        assert exec_["argv_truncated"] is False
        assert exit_["exit_code"] == (fate if isinstance(fate, int) else None), name
        assert exit_["signal"] == (fate if isinstance(fate, str) else None), name
        assert (exit_["start_is_fork"], exit_["core_dumped"]) == (False, False)
        start, end = wall_ns(exit_["start_time"]), wall_ns(exit_["end_time"])
        assert wall_ns(exit_["time"]) == end and end - start == exit_["lifetime_ns"]
        assert abs(wall_ns(exec_["time"]) - start) <= 10**6, "lifetime starts at the exec"
    slp_argv = one(events, type="exec", pid=pids[prefix + "slp"])["argv"]
    assert slp_argv[4:11] == ["with space", "--thread-name", "", "--thread-name",
                              "\\xff\\xfe\\\\", "--thread-name", "h\u00e9llo"]
    lifetime = one(events, type="exit", pid=pids[prefix + "slp"])["lifetime_ns"]
    assert 300 * 10**6 <= lifetime < 800 * 10**6
    failed = one(events, type="exec_failed", pid=actor.pid)
    assert (failed["comm"], failed["filename"], failed["filename_truncated"]) == (
        prefix + "fx", missing, False)
    assert (failed["errno"], failed["errno_number"]) == ("ENOENT", 2)
    times = [wall_ns(e["time"]) for e in events]
    assert times == sorted(times), "events come out in the order they happened"


def test_every_json_line_parses_whatever_names_and_arguments(tracer, workload, prefix, actors):
    """Every line of a host-wide trace is valid JSON, with a process that renamed itself
    to quotes, backslashes and a newline, and with argv cut at 4096 bytes or 64 args."""
    trace = tracer("--json")
    weird = b'\xff"\\\n{}'
    escaped = '\\xff"\\\\\\x0a{}'  # what the JSON string holds: \xff " \\ \x0a {}
    assert unescape(escaped) == weird
    actor = actors(prefix + "wd")
    assert actor.call("rename", weird.hex()) == {"result": 0}
    forked = actor.call("fork_exit")["pid"]
    assert actor.call("exec", "/nonexistent/" + prefix) == {"errno": 2}
    child = actor.call("run", workload.path(prefix + "ch"))["pid"]
    actor.close()

    path = workload.path(prefix + "lg")
    room = 4096 - len(path) - 1 - len("--thread-name") - 1  # bytes left for a third arg
    cut = run_workload(workload, prefix + "lg", "--thread-name", "a" * 5000)[0]
    exact = run_workload(workload, prefix + "lg", "--thread-name", "b" * (room - 1))[0]
    many = run_workload(workload, prefix + "lg", *["--sleep-ms", 0] * 40)[0]
    all_64 = run_workload(workload, prefix + "lg", *["--sleep-ms", 0] * 31,
                          "--leader-exits-first")[0]
    trace.expect_event(type="exit", pid=all_64)
    trace.expect_event(type="exit", pid=actor.pid)
    assert trace.stop() == 0

    events = trace.events()
    assert all(set(e) >= {"type", "pid", "ppid", "comm", "time"} for e in events)
    assert {e["type"] for e in events} == {"exec", "exit", "exec_failed"}
    fork_exit = one(events, type="exit", pid=forked, ppid=actor.pid)
    assert (fork_exit["comm"], fork_exit["start_is_fork"]) == (escaped, True)
    assert one(events, type="exec_failed", pid=actor.pid, ppid=os.getpid())["comm"] == escaped
    assert one(events, type="exec", pid=child, ppid=actor.pid)["parent_comm"] == escaped
    assert one(events, type="exit", pid=actor.pid, ppid=os.getpid())["comm"] == prefix + "wd"
    _, raw = trace.find(lambda l: matches(l, {"type": "exec_failed", "pid": actor.pid}), 0)
    assert b'"comm":"\\\\xff\\"\\\\\\\\\\\\x0a{}"' in raw

    shown = {pid: one(events, type="exec", pid=pid, comm=prefix + "lg")
             for pid in (cut, exact, many, all_64)}
    assert shown[cut]["argv"] == [path, "--thread-name", "a" * room]
    assert shown[cut]["argv_truncated"] is True
    assert shown[exact]["argv"] == [path, "--thread-name", "b" * (room - 1)]
    assert shown[exact]["argv_truncated"] is False, "4096 bytes with the last NUL fit"
    assert shown[many]["argv"] == [path, *["--sleep-ms", "0"] * 31, "--sleep-ms"]
    assert shown[many]["argv_truncated"] is True
    assert shown[all_64]["argv"] == [path, *["--sleep-ms", "0"] * 31, "--leader-exits-first"]
    assert shown[all_64]["argv_truncated"] is False, "64 arguments are shown whole"


def test_failed_execs_in_json_table_and_metrics_at_once(tracer, workload, prefix, actors,
                                                        daemon_factory):
    """A failed exec shows its errno name, the path tried and the caller in the JSON
    trace and the table, and is counted by a metrics daemon running at the same time."""
    daemon = daemon_factory()
    as_json, as_table = tracer("--json", "--comm", prefix + "*"), tracer("--comm", prefix + "*")
    missing = os.path.join(workload.directory, "missing")
    not_executable = os.path.join(workload.directory, "not-executable")
    with open(not_executable, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(not_executable, 0o644)  # no x bit at all: root gets EACCES too
    caller = prefix + "fl"
    actor = actors(caller)
    assert actor.call("exec", missing) == {"errno": 2}
    assert actor.call("exec", not_executable) == {"errno": 13}
    assert actor.call("fexec", not_executable) == {"errno": 13}
    actor.close()
    as_json.expect_event(type="exit", pid=actor.pid)
    as_table.expect(lambda line: f" EXIT  {caller} ".encode() in line, "exit of the actor")
    assert as_json.stop() == 0 and as_table.stop() == 0

    failures = [e for e in as_json.events() if e["type"] == "exec_failed"]
    assert [(e["pid"], e["ppid"], e["comm"], e["uid"]) for e in failures] == [
        (actor.pid, os.getpid(), caller, 0)] * 3
    assert [(e["errno"], e["errno_number"], e["filename"]) for e in failures] == [
        ("ENOENT", 2, missing), ("EACCES", 13, not_executable), ("EACCES", 13, "")]
    rows = [table_row(line) for line in as_table.text_lines()[1:]]
    assert [r for r in rows if r[0] == "FAIL"] == [
        ("FAIL", caller, actor.pid, os.getpid(), f"[ENOENT] {missing}"),
        ("FAIL", caller, actor.pid, os.getpid(), f"[EACCES] {not_executable}"),
        ("FAIL", caller, actor.pid, os.getpid(), "[EACCES] ")]

    def counted(m):
        return tuple(m.get("execmond_exec_failures_total", comm=caller, errno=name)
                     for name in ("ENOENT", "EACCES"))
    assert counted(daemon.wait_for(lambda m: counted(m) == (1, 2))) == (1, 2)
    assert daemon.stop() == 0


def test_table_shows_each_event_in_its_columns(tracer, workload, prefix, actors):
    """The table has its header, then one line per EXEC, EXIT ([code] or [SIGNAL] with
    the lifetime) and FAIL, with time, name, pid and ppid in their columns."""
    trace = tracer("--comm", prefix + "*")
    assert trace.text_lines()[0] == TABLE_HEADER
    assert [TABLE_HEADER.index(h) for h in ("EVENT", "COMM", "PID ", "PPID", "UNIT",
                                            "FILENAME")] == [9, 15, 32, 40, 48, 73]
    fates = {prefix + "ok": (["--sleep-ms", 120], "[0]"), prefix + "ex": (["--exit", 3], "[3]"),
             prefix + "kl": (["--signal", 9], "[SIGKILL]"),
             prefix + "te": (["--signal", 15], "[SIGTERM]")}
    pids = {name: run_workload(workload, name, *args)[0] for name, (args, _) in fates.items()}
    actor = actors(prefix + "fl")
    missing = os.path.join(workload.directory, "missing")
    assert actor.call("exec", missing) == {"errno": 2}
    actor.close()
    trace.expect(lambda line: f" EXIT  {prefix}fl ".encode() in line, "exit of the actor")
    assert trace.stop() == 0

    rows = []
    for line in trace.text_lines()[1:]:
        assert re.fullmatch(r"\d\d:\d\d:\d\d (EXEC|EXIT|FAIL) *", line[:15]), line
        now = time.localtime()
        drift = (sum(int(x) * f for x, f in zip(line[:8].split(":"), (3600, 60, 1)))
                 - (now.tm_hour * 3600 + now.tm_min * 60 + now.tm_sec)) % 86400
        assert min(drift, 86400 - drift) < 120, f"not the local time of day: {line}"
        rows.append(table_row(line))
    rows = [r for r in rows if r[1] in fates or r[1] == prefix + "fl"]
    me = os.getpid()
    assert [r for r in rows if r[0] == "EXEC"] == [
        ("EXEC", n, pids[n], me, workload.path(n)) for n in fates] + [
        ("EXEC", prefix + "fl", actor.pid, me, actor.path)]
    exits = [r for r in rows if r[0] == "EXIT"]
    assert [r[1:4] for r in exits] == [(n, pids[n], me) for n in fates] + [
        (prefix + "fl", actor.pid, me)]
    for (name, (_, status)), row in zip(fates.items(), exits):
        lifetime = re.fullmatch(re.escape(status) + r" \((\d+)ms\)", row[4])
        assert lifetime, row
        assert name != prefix + "ok" or 120 <= int(lifetime.group(1)) < 1000, row
    assert [r for r in rows if r[0] == "FAIL"] == [
        ("FAIL", prefix + "fl", actor.pid, me, f"[ENOENT] {missing}")]


def test_comm_and_exclude_comm_filters(tracer, workload, prefix):
    """--comm shows only names matching one of its globs; --exclude-comm hides matching
    names, also when they match --comm too."""
    only = tracer("--json", "--comm", prefix + "a*", "--comm", prefix + "b?", ready="ardy")
    hide = tracer("--json", "--exclude-comm", prefix + "x*", ready="ardy")
    both = tracer("--json", "--comm", prefix + "*", "--exclude-comm", prefix + "x*",
                  ready="ardy")
    for tag in ("a1", "bz", "bzz", "c", "x1", "xa"):
        workload.run(prefix + tag)
    last = run_workload(workload, prefix + "a9")[0]
    for trace in (only, hide, both):
        trace.expect_event(type="exit", pid=last)
        assert trace.stop() == 0
    assert all(fnmatch.fnmatchcase(e["comm"], prefix + "a*") or
               fnmatch.fnmatchcase(e["comm"], prefix + "b?") for e in only.events())
    names = {prefix + t for t in ("ardy", "a1", "bz", "bzz", "c", "a9")}
    assert comms_shown(only, prefix) == names - {prefix + "bzz", prefix + "c"}
    assert comms_shown(hide, prefix) == comms_shown(both, prefix) == names


def test_failed_filter_shows_only_failed_execs(tracer, workload, prefix, actors):
    """--failed prints failed execs and nothing else, host-wide."""
    trace = tracer("--json", "--failed", ready=None)
    actor = actors(prefix + "fl")
    ready = os.path.join(workload.directory, "ready")
    trace.sync(lambda: actor.call("exec", ready),
               lambda line: matches(line, {"filename": ready}), "failed exec")
    missing = os.path.join(workload.directory, "missing")
    assert actor.call("exec", missing) == {"errno": 2}
    assert actor.call("run", workload.path(prefix + "ok"))["status"] == 0
    assert actor.call("fork_exit")
    assert actor.call("exec", missing + "2") == {"errno": 2}
    trace.expect_event(type="exec_failed", filename=missing + "2")
    assert trace.stop() == 0
    events = trace.events()
    assert {e["type"] for e in events} == {"exec_failed"}
    assert [e["filename"] for e in events if e["pid"] == actor.pid and e["filename"] != ready] == [
        missing, missing + "2"]


def test_min_duration_drops_only_short_lived_exits(tracer, workload, prefix):
    """-d 200 hides exits of processes that lived under 200 ms, keeps longer-lived
    ones, and still shows every exec."""
    trace = tracer("--json", "-d", "200", "--comm", prefix + "*", event="exec")
    short = run_workload(workload, prefix + "sh")[0]
    medium = run_workload(workload, prefix + "md", "--sleep-ms", 100)[0]
    long_lived = run_workload(workload, prefix + "lg", "--sleep-ms", 300)[0]
    trace.expect_event(type="exit", pid=long_lived)
    assert trace.stop() == 0
    events = trace.events()
    assert [(e["pid"], e["type"]) for e in events if e["pid"] in (short, medium, long_lived)] == [
        (short, "exec"), (medium, "exec"), (long_lived, "exec"), (long_lived, "exit")]
    assert all(e["lifetime_ns"] >= 200 * 10**6 for e in events if e["type"] == "exit")


def test_pid_filter_shows_the_process_and_its_direct_children(tracer, workload, prefix, actors):
    """--pid P shows P's own events and those of its children, not its grandchildren
    nor anything else."""
    actor = actors(prefix + "pa")
    trace = tracer("--json", "--pid", str(actor.pid), ready=None)
    trace.sync(lambda: actor.call("run", workload.path(prefix + "rdy")),
               lambda line: matches(line, {"type": "exit", "comm": prefix + "rdy"}), "child")
    child = actor.call("run", workload.path(prefix + "ch"), "--exit", "4")["pid"]
    forked = actor.call("fork_run", workload.path(prefix + "gc"))
    assert actor.call("exec", "/nonexistent/" + prefix) == {"errno": 2}
    actor.close()
    trace.expect_event(type="exit", pid=actor.pid)
    assert trace.stop() == 0
    assert all(actor.pid in (e["pid"], e["ppid"]) for e in trace.events())
    events = [e for e in trace.events() if e["comm"] != prefix + "rdy"]
    assert sorted((e["pid"], e["type"]) for e in events) == sorted([
        (child, "exec"), (child, "exit"), (forked["pid"], "exit"),
        (actor.pid, "exec_failed"), (actor.pid, "exit")])
    assert one(events, type="exit", pid=child)["exit_code"] == 4
    assert not [e for e in events if e["pid"] == forked["grandchild"]]


def test_uid_filter(tracer, workload, prefix, public_dir):
    """--uid 65534 shows only processes of that user; --uid 0 hides them."""
    def run_as(uid, name):
        path = os.path.join(public_dir, name)
        if not os.path.exists(path):
            os.symlink(workload.binary, path)
        gid = NOBODY_GID if uid == NOBODY else 0
        setpriv = [require_tool("setpriv"), f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        proc = subprocess.Popen([*setpriv, path])
        assert proc.wait(timeout=60) == 0
        return proc.pid

    nobody = tracer("--json", "--uid", str(NOBODY), ready=None)
    root = tracer("--json", "--uid", "0", ready=None)
    for trace, uid, name in ((nobody, NOBODY, prefix + "nrdy"), (root, 0, prefix + "rrdy")):
        trace.sync(lambda: run_as(uid, name),
                   lambda line: matches(line, {"type": "exit", "comm": name}), name)
    pids = [run_as(uid, prefix + tag) for uid, tag in
            ((0, "r1"), (NOBODY, "n1"), (0, "r2"), (NOBODY, "n2"), (0, "r3"))]
    nobody.expect_event(type="exit", pid=pids[3])
    root.expect_event(type="exit", pid=pids[4])
    assert nobody.stop() == 0 and root.stop() == 0
    assert {e["uid"] for e in nobody.events()} == {NOBODY}
    assert {e["uid"] for e in root.events()} == {0}
    # A file's "content" line only follows an exec the trace showed.
    for trace in (nobody, root):
        shown = {e["path"] for e in trace.events() if e["type"] == "exec"}
        assert {c["path"] for c in trace.content_events()} <= shown
    assert comms_shown(nobody, prefix) == {prefix + t for t in ("nrdy", "n1", "n2")}
    assert comms_shown(root, prefix) == {prefix + t for t in ("rrdy", "r1", "r2", "r3")}
    n1_exec = one(nobody.events(), type="exec", pid=pids[1])
    assert (n1_exec["uid"], n1_exec["gid"]) == (NOBODY, NOBODY_GID)


@pytest.mark.parametrize("with_daemon", [False, True], ids=["alone", "with_daemon"])
def test_lines_come_out_promptly_through_a_pipe(tracer, workload, prefix, daemon_factory,
                                                with_daemon):
    """With stdout a pipe, a process's EXIT line can be read well within a second of
    its exit, also while the metrics daemon runs."""
    if with_daemon:
        daemon_factory()
    trace = tracer("--json", "--comm", prefix + "*")
    after_wait, after_event = [], []
    for _ in range(10):
        proc = workload.start(prefix + "pr", "--sleep-ms", 20)
        proc.wait(timeout=60)
        reaped = time.time()
        read_at, event = trace.expect_event(type="exit", pid=proc.pid)
        after_wait.append(max(read_at - reaped, 0.0))
        after_event.append(read_at - wall_ns(event["time"]) / 1e9)
        time.sleep(0.05)
    assert trace.stop() == 0
    print(f"\ntrace latency {'with' if with_daemon else 'without'} the daemon, ms: "
          f"after the kernel's exit event median {sorted(after_event)[5] * 1e3:.1f}, "
          f"max {max(after_event) * 1e3:.1f}; after wait() returned max {max(after_wait) * 1e3:.1f}")
    assert max(after_wait) < 1.0 and max(after_event) < 1.0


def test_agrees_with_execsnoop_and_exitsnoop(tracer, workload, prefix, actors, tracefs,
                                             readers, tmp_path):
    """On a mixed workload of ~50 processes, the execs and failed execs execsnoop sees
    and the process exits exitsnoop sees are all in the trace, with the same exit code
    or signal."""
    # They buffer stdout into a pipe by the 4 KiB block: make them write line by line.
    tools = [readers(OutputLines, ["stdbuf", "-oL", require_tool(t), *args])
             for t, args in (("execsnoop", ["-x"]), ("exitsnoop", []))]
    for tool in tools:
        tool.expect(lambda line: line.startswith(b"PCOMM"), "header")
    trace = tracer("--json", "--comm", prefix + "*")

    jobs = ([("ex", ["--exit", i % 4]) for i in range(16)] +
            [("sg", ["--signal", s]) for s in (15, 9, 10, 2) * 2] +
            [("th", ["--threads", 3, "--sleep-ms", 20, "--exit", 4])] * 4 +
            [("tl", ["--threads", 3, "--leader-exits-first", "--sleep-ms", 20, "--exit", 6])] * 4 +
            [("sl", ["--sleep-ms", 100])] * 12)
    procs = [(tag, workload.start(prefix + tag, *args)) for tag, args in jobs]
    not_executable = tmp_path / "not-executable"
    not_executable.write_text("")
    failures = []
    for actor in (actors(prefix + "fx0"), actors(prefix + "fx1")):
        for path in ("/nonexistent/" + prefix, str(not_executable), "/nonexistent/2"):
            failures.append((actor.pid, actor.call("exec", path)["errno"]))
        actor.close()
    assert [errno for _, errno in failures] == [2, 13, 2] * 2
    status = {p.pid: p.wait(timeout=60) for _, p in procs}
    status.update({pid: 0 for pid, _ in failures})
    leader_first = {p.pid for tag, p in procs if tag == "tl"}
    end = workload.start(prefix + "end")
    end.wait(timeout=60)
    trace.expect_event(type="exit", pid=end.pid)
    for tool in tools:
        tool.expect(lambda line: line.split()[1:2] == [str(end.pid).encode()], "end's line")
    time.sleep(0.5)  # the tools read per-CPU buffers: let the other CPU's be drained too
    assert trace.stop() == 0
    assert [tool.stop() for tool in tools] == [0, 0]

    def rows(tool):  # this test's lines, split in columns (an argument may hold a newline)
        split = [line.split(None, 5) for line in tool.text_lines("replace")[1:]]
        return [r for r in split if len(r) > 3 and r[0].startswith(prefix)
                and r[1].isdigit() and int(r[1]) in status]

    def traced_status(e):  # as Popen reports it
        return e["exit_code"] if e["signal"] is None else -signal.Signals[e["signal"]]

    def snooped_status(r):  # exitsnoop's EXIT_CODE: "0", "code N" or "signal N (Name)"
        fate = r[5].split()
        return -int(fate[1]) if fate[0] == "signal" else int(fate[-1])

    events = [e for e in trace.events() if e["pid"] in status]
    execs = sorted(e["pid"] for e in events if e["type"] == "exec")
    assert execs == sorted(status), "one exec line per process"
    assert sorted(int(r[1]) for r in rows(tools[0]) if r[3] == "0") == execs
    traced_failures = [(e["pid"], e["errno_number"]) for e in events if e["type"] == "exec_failed"]
    snooped_failures = [(int(r[1]), -int(r[3])) for r in rows(tools[0]) if r[3] != "0"]
    assert sorted(traced_failures) == sorted(snooped_failures) == sorted(failures)
    exits = [(e["pid"], traced_status(e)) for e in events if e["type"] == "exit"]
    assert sorted(exits) == sorted(status.items()), "one exit line per process, right status"
    snooped = [(int(r[1]), snooped_status(r)) for r in rows(tools[1])]
    assert sorted(pid for pid, _ in snooped) == sorted(status)
    # exitsnoop reports the leader thread's exit: when the leader leaves first, that is
    # not when, nor how, the process ended.
    assert sorted(s for s in snooped if s[0] not in leader_first) == sorted(
        s for s in exits if s[0] not in leader_first)
    assert {code for pid, code in exits if pid in leader_first} == {6}


def test_sigterm_ends_the_trace_and_detaches_everything(tracer, prefix):
    """SIGTERM ends `execmond trace` with status 0 and leaves none of its BPF programs
    loaded in the kernel."""
    trace = tracer("--json", "--comm", prefix + "*")
    held = {i: name for i, name in loaded_programs().items()
            if i in held_program_ids(trace.proc.pid)}
    assert "handle_exec" in set(held.values()) and EXIT_PROGRAMS & set(held.values())
    assert trace.stop(signal.SIGTERM) == 0
    deadline = time.monotonic() + 10  # the kernel may free programs a moment later
    while loaded_programs().keys() & held and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not loaded_programs().keys() & held, "programs left loaded after the trace"
    assert not leaked_execmond_programs()


def test_sigterm_ends_the_trace_even_when_nobody_reads_it(execmond_binary):
    """A consumer that stopped reading (a stuck pipe) does not keep SIGTERM from ending
    the trace: the write waiting for room is abandoned."""
    proc = subprocess.Popen([execmond_binary, "trace", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.5)  # attached; nobody reads proc.stdout from here on
        for _ in range(400):  # ~2 KiB per exec and exit: far more than a pipe holds
            subprocess.run(["/bin/true"])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()

# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the integration tests: the real daemon, real BPF, real scrapes.

The tests need root (they load BPF programs). They never skip for lack of it: a
missing privilege is a failure, so that CI cannot pass without running them.
"""

import glob
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families


def pytest_addoption(parser):
    parser.addoption("--execmond", required=True, help="path of the execmond binary")
    parser.addoption("--workload", required=True, help="path of the execmond_workload binary")


@pytest.fixture(scope="session")
def execmond_binary(request):
    path = os.path.abspath(request.config.getoption("--execmond"))
    assert os.access(path, os.X_OK), f"no execmond binary at {path}"
    return path


@pytest.fixture(scope="session")
def sanitized(execmond_binary):
    """Whether the binary is the sanitize preset's: AddressSanitizer's runtime is linked
    into it. Such a binary cannot run under an address-space limit, and bounds a YAML
    parse by CPU time alone (config/parse_probe.cpp)."""
    with open(execmond_binary, "rb") as f:
        data = f.read()
    # clang links the runtime in; gcc's -fsanitize=address links libasan.so.
    return b"AddressSanitizer" in data or b"libasan.so" in data


@pytest.fixture(scope="session", autouse=True)
def running_as_root():
    assert os.geteuid() == 0, "the integration tests load BPF programs: run them as root"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Workload:
    """The workload binary under unique names: the kernel names a process after the
    file it exec'd, so a symlink gives every test its own comm."""

    def __init__(self, binary, directory):
        self.binary = binary
        self.directory = directory

    def name(self, tag=""):
        # comm holds 15 bytes: keep names short and unique per test run.
        return ("w" + uuid.uuid4().hex[:8] + tag)[:15]

    def path(self, name):
        path = os.path.join(self.directory, name)
        if not os.path.exists(path):
            os.symlink(self.binary, path)
        return path

    def start(self, name, *args):
        return subprocess.Popen([self.path(name), *map(str, args)], stderr=subprocess.DEVNULL)

    def run(self, name, *args):
        return subprocess.run([self.path(name), *map(str, args)], stderr=subprocess.DEVNULL).returncode

    def run_parallel(self, jobs):
        """Runs [(name, args), ...] all at once; returns their exit statuses."""
        procs = [self.start(name, *args) for name, args in jobs]
        return [p.wait() for p in procs]


@pytest.fixture
def workload(request, tmp_path):
    binary = os.path.abspath(request.config.getoption("--workload"))
    assert os.access(binary, os.X_OK), f"no workload binary at {binary}"
    return Workload(binary, str(tmp_path))


class Metrics:
    """One scrape, parsed by prometheus_client's parser (not ours)."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                assert key not in self.samples, f"duplicate series {key}"
                self.samples[key] = sample.value

    def get(self, name, **labels):
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def total(self, name, **labels):
        """The sum of the samples of `name` whose labels include `labels`; None when
        there is none, so that a family that vanished fails a comparison."""
        values = [v for k, v in self.samples.items() if k[0] == name and
                  all(dict(k[1]).get(l) == want for l, want in labels.items())]
        return sum(values) if values else None

    def series(self, name):
        return {dict(k[1]).get("comm"): v for k, v in self.samples.items() if k[0] == name}


EXECMOND_PROGRAMS = ("handle_exec", "handle_exit", "handle_exec_without_storage",
                     "handle_exit_without_storage", "handle_group_exit",
                     "handle_group_exit_without_storage", "handle_rename",
                     "handle_execve_return", "handle_execveat_return", "handle_execve_kretprobe",
                     "handle_execveat_kretprobe", "handle_execve_exit", "handle_execveat_exit",
                     "handle_bprm_check")
# Each kernel runs one exit program: group_dead (6.16+) or a claim between threads.
EXIT_PROGRAMS = {"handle_exit", "handle_group_exit"}


def loaded_programs():
    """{id: name} of every BPF program loaded in the kernel."""
    out = subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True, text=True,
                         check=True)
    return {p["id"]: p.get("name", "") for p in json.loads(out.stdout)}


def held_program_ids(pid="*"):
    """Ids of the BPF programs that process `pid` (default: any process) holds a file
    descriptor of, from the kernel's fdinfo."""
    ids = set()
    for fdinfo in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            with open(fdinfo) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass  # the process or descriptor went away meanwhile
    return ids


def leaked_execmond_programs(settle=5.0):
    """execmond programs still loaded that no process holds: left behind in the kernel.
    Other execmond instances on the host hold theirs, so they do not count; one whose
    holder has just exited (another test's daemon, or another user's on a shared host) is
    freed by the kernel moments later, so only programs loaded and held by no process at
    every look for `settle` seconds count."""
    names = [n[:15] for n in EXECMOND_PROGRAMS]
    deadline = time.monotonic() + settle
    leaked = None
    while True:
        unheld = {i for i, name in loaded_programs().items() if name in names}
        unheld -= held_program_ids()  # read after the list: a program loaded since is held
        leaked = unheld if leaked is None else leaked & unheld
        if not leaked or time.monotonic() > deadline:
            return leaked
        time.sleep(0.2)


class Daemon:
    def __init__(self, binary, config_text, tmp_path, env=None, args=(), preexec_fn=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        self.config = tmp_path / f"execmond-{self.port}.yaml"
        self.config.write_text(config_text)
        self.log = tmp_path / f"execmond-{self.port}.log"
        self.binary = binary
        self.env = dict(os.environ, **(env or {}))
        self.args = list(args)
        self.preexec_fn = preexec_fn
        self.proc = None

    def start(self):
        self.log_file = open(self.log, "w")
        self.proc = subprocess.Popen(
            [self.binary, "--config", str(self.config), "--listen", f"127.0.0.1:{self.port}",
             *self.args],
            stdout=self.log_file, stderr=subprocess.STDOUT, env=self.env,
            preexec_fn=self.preexec_fn)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"execmond exited early:\n{self.log.read_text()}"
            if "ready:" in self.log.read_text():
                return self
            time.sleep(0.05)
        raise AssertionError(f"execmond did not become ready:\n{self.log.read_text()}")

    def scrape(self, gzip_encoding=False):
        request = urllib.request.Request(self.url)
        if gzip_encoding:
            request.add_header("Accept-Encoding", "gzip")
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return body.decode("utf-8"), response.headers

    def metrics(self):
        return Metrics(self.scrape()[0])

    def wait_for(self, predicate, timeout=10):
        """Scrapes until predicate(metrics) holds; returns the last scrape."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.metrics()
            if predicate(m) or time.monotonic() > deadline:
                return m
            time.sleep(0.1)

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=30)
        self.log_file.close()
        return code


@pytest.fixture
def daemon_factory(execmond_binary, tmp_path):
    started = []

    def make(config_text="", env=None, args=(), preexec_fn=None):
        d = Daemon(execmond_binary, config_text, tmp_path, env, args, preexec_fn).start()
        started.append(d)
        return d

    yield make
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
    # Under the sanitize preset any report fails the test that started the daemon, also
    # one the daemon survived or printed while exiting.
    for d in started:
        log = d.log.read_text(errors="replace")
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert marker not in log, f"sanitizer report in the daemon's log:\n{log}"


# Both kernel code paths: task storage (5.11+) and the fork-time fallback (5.8-5.10).
VARIANTS = {
    "task_storage": {},
    "fork_time": {"EXECMOND_DISABLE_TASK_STORAGE": "1"},
}


@pytest.fixture(params=sorted(VARIANTS))
def variant_env(request):
    return VARIANTS[request.param]


def require_tool(name):
    path = shutil.which(name) or (os.path.join("/usr/sbin", name) if os.path.exists(os.path.join("/usr/sbin", name)) else None)
    assert path, f"{name} is not installed (CI installs it)"
    return path


@pytest.fixture
def scratch():
    """/tmp/<random>, readable by the unprivileged user (uid 1000): anything mounted at
    its mnt/ unmounted, and it removed, at the end."""
    path = tempfile.mkdtemp(prefix="xm", dir="/tmp")
    os.chmod(path, 0o755)
    yield path
    subprocess.run(["umount", "-R", "-q", os.path.join(path, "mnt")], stderr=subprocess.DEVNULL)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def true_exit(request):
    """The benchmark's static no-op, built next to the workload."""
    path = os.path.join(os.path.dirname(os.path.abspath(request.config.getoption("--workload"))),
                        "benchmark", "true_exit")
    assert os.access(path, os.X_OK), f"no {path}: build the tests"
    return path


def copy_executable(source, path):
    shutil.copyfile(source, path)
    os.chmod(path, 0o755)
    return path

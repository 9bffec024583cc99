# SPDX-License-Identifier: Apache-2.0
"""Hostile input the daemon must refuse or survive (issues 13 and 17): a configuration
yaml-cpp never finished parsing, cgroups a user names like system units, a burst of
cgroups with long names, and the operational messages that must say what is wrong."""

import os
import resource
import secrets
import signal
import subprocess
import time

import pytest

from conftest import Daemon
from test_service import reload
from test_units import cgroups, labelled_sum, spawn_in, wait_all  # noqa: F401 (fixture)

HERE = os.path.dirname(os.path.abspath(__file__))
YAML_LOOP = os.path.join(HERE, "..", "fuzz", "corpus", "config", "yaml-cpp-loadall-loop-349b.yaml")


def run_timed(args, sanitized, env=None, timeout=30):
    """Runs a command; returns (result, wall seconds, CPU seconds of it and its children).
    A safety net of 1 GiB of address space, where the build allows one: a regression must
    fail the test, not take the machine's memory."""
    def limit():
        if not sanitized:
            resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                            preexec_fn=limit, env=dict(os.environ, **(env or {})))
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result, wall, cpu


# Wall-clock bounds in these tests leave room for a loaded 2-core CI machine; what the
# daemon spends is asserted as CPU time, which load does not stretch. The README gives
# the figures on a quiet machine.
PARSE_DEADLINE = 6.0  # config/parse_bound.cpp: 5 s + 4 x the CPU budget of a small file


def test_yaml_that_never_finished_parsing_is_refused_at_once(execmond_binary, sanitized,
                                                             tmp_path):
    """The fuzzer's 349-byte input grew --check-config to 2.8 GB in 10 s."""
    with open(YAML_LOOP, "rb") as f:
        bad = f.read()
    config = tmp_path / "loop.yaml"
    config.write_bytes(bad)
    expected = f"{config}:1:1: invalid YAML: unexpected \",\" here"

    for args in (["--check-config", "--config", str(config)],
                 ["--config", str(config), "--listen", "127.0.0.1:0"]):
        result, wall, cpu = run_timed([execmond_binary, *args], sanitized)
        assert result.returncode == 3, result.stderr
        assert expected in result.stderr, result.stderr
        assert cpu < (1.0 if sanitized else 0.25), f"{args}: {cpu:.2f} s of CPU"
        assert wall < PARSE_DEADLINE, f"{args}: {wall:.2f} s"


def test_a_reload_with_that_yaml_changes_nothing(daemon_factory, workload):
    d = daemon_factory("log_level: info\n")
    comm = workload.name("y")
    workload.run(comm)
    d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 1)
    with open(YAML_LOOP, "rb") as f:
        bad = f.read()
    started = time.monotonic()
    before = d.log.read_text().count("reload failed")
    d.config.write_bytes(bad)
    d.proc.send_signal(signal.SIGHUP)
    while d.log.read_text().count("reload failed") == before:
        assert d.proc.poll() is None, d.log.read_text()
        assert time.monotonic() - started < PARSE_DEADLINE, d.log.read_text()
        time.sleep(0.02)
    # The log is logfmt: the message's quotes are escaped there.
    assert 'invalid YAML: unexpected \\",\\" here' in d.log.read_text()
    m = d.metrics()
    assert m.get("execmond_config_last_reload_successful") == 0
    workload.run(comm)
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 2)
    assert m.get("execmond_execs_total", comm=comm) == 2
    reload(d, "log_level: info\n", expect="reload: the configuration did not change")
    assert d.metrics().get("execmond_config_last_reload_successful") == 1
    assert d.stop() == 0


# The bound on parsing, whatever yaml-cpp does (config/parse_bound.h): the test knob
# EXECMOND_INJECT_PARSER_FAULT makes the parse of a file holding this comment misbehave in
# the child process as a parser defect would.
MARKER = "\n# inject-parser-fault\n"
RUNAWAY = {
    "spin": "refused: parsing it did not finish within 250 ms of CPU time",
    "allocate": "refused: parsing it needed more than 64 MiB of memory",
    # yaml-cpp's own defect, the LoadAll loop, on the fuzzer's 349 bytes
    "loadall": "refused: parsing it ",
}


def expected_refusal(fault, sanitized):
    if sanitized:  # 4 x the CPU budget, and no heap limit under AddressSanitizer
        return "refused: parsing it did not finish within 1000 ms" if fault != "loadall" \
            else RUNAWAY[fault]
    return RUNAWAY[fault]


def knob_file(tmp_path, fault, name="bad.yaml"):
    path = tmp_path / name
    if fault == "loadall":
        with open(YAML_LOOP, "rb") as f:
            path.write_bytes(f.read() + MARKER.encode())
    else:
        path.write_text("log_level: info" + MARKER)
    return path


@pytest.mark.parametrize("fault", sorted(RUNAWAY))
def test_a_runaway_parser_is_refused_within_its_budget_at_start(execmond_binary, sanitized,
                                                                 tmp_path, fault):
    config = knob_file(tmp_path, fault)
    env = {"EXECMOND_INJECT_PARSER_FAULT": fault}
    for args in (["--check-config", "--config", str(config)],
                 ["--config", str(config), "--listen", "127.0.0.1:0"]):
        result, wall, cpu = run_timed([execmond_binary, *args], sanitized, env)
        assert result.returncode == 3, result.stderr
        assert f"execmond: {config}: {expected_refusal(fault, sanitized)}" in result.stderr, \
            result.stderr
        # The child's budget (0.25 s of CPU; 1 s under ASan) and a little: never the 2.8 GB
        # and the minutes of the defect.
        assert cpu < (2.0 if sanitized else 0.6), f"{args}: {cpu:.2f} s of CPU"
        assert wall < PARSE_DEADLINE, f"{args}: {wall:.2f} s: the deadline, not the budget"


def test_a_runaway_web_config_parser_is_refused_at_start(execmond_binary, sanitized,
                                                         tmp_path):
    web = tmp_path / "web.yml"
    web.write_text("basic_auth_users: {}" + MARKER)
    config = tmp_path / "execmond.yaml"
    config.write_text("web_config_file: web.yml\n")
    result, wall, _ = run_timed([execmond_binary, "--check-config", "--config", str(config)],
                                sanitized, {"EXECMOND_INJECT_PARSER_FAULT": "spin"})
    assert result.returncode == 3, result.stderr
    assert f"{web}: {expected_refusal('spin', sanitized)}" in result.stderr, result.stderr
    assert wall < PARSE_DEADLINE


def test_the_bound_holds_when_started_with_standard_streams_closed(execmond_binary, sanitized,
                                                                  tmp_path):
    """The child's stdin (the text) and stdout (the pipe that ends with it) are made from
    descriptors the daemon opens: with 0 and 1 closed those would be 0 and 1 themselves."""
    config = knob_file(tmp_path, "spin")

    def close_stdin_and_stdout():
        os.close(0)
        os.close(1)
    result = subprocess.run([execmond_binary, "--check-config", "--config", str(config)],
                            stderr=subprocess.PIPE, text=True, timeout=30,
                            preexec_fn=close_stdin_and_stdout,
                            env=dict(os.environ, EXECMOND_INJECT_PARSER_FAULT="spin"))
    assert result.returncode == 3, result.stderr
    assert f"{config}: {expected_refusal('spin', sanitized)}" in result.stderr


def test_a_crashing_parser_is_refused(execmond_binary, sanitized, tmp_path):
    config = knob_file(tmp_path, "crash")
    result, _, _ = run_timed([execmond_binary, "--check-config", "--config", str(config)],
                             sanitized, {"EXECMOND_INJECT_PARSER_FAULT": "crash"})
    assert result.returncode == 3, result.stderr
    assert f"{config}: refused: the YAML parser crashed on it (SIGABRT)" in result.stderr


def test_a_parser_starved_of_cpu_proves_nothing_and_is_retried(execmond_binary, sanitized,
                                                              tmp_path):
    """A child that uses no CPU is killed at the daemon's deadline; that is no proof the
    file is bad, so the start fails with 1 (systemd retries it), not 3."""
    config = knob_file(tmp_path, "hang")
    result, wall, _ = run_timed([execmond_binary, "--config", str(config), "--listen",
                                 "127.0.0.1:0"], sanitized, {"EXECMOND_INJECT_PARSER_FAULT": "hang"})
    assert result.returncode == 1, result.stderr
    assert (f"execmond: {config}: cannot check the file: the YAML parser's process did not "
            "finish within ") in result.stderr, result.stderr
    assert PARSE_DEADLINE - 1 <= wall < PARSE_DEADLINE + 10


@pytest.mark.parametrize("fault", ["spin", "allocate", "hang"])
def test_a_reload_with_a_runaway_parser_changes_nothing(daemon_factory, workload, sanitized,
                                                        fault):
    d = daemon_factory("log_level: info\n", env={"EXECMOND_INJECT_PARSER_FAULT": fault})
    comm = workload.name("p")
    workload.run(comm)
    d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 1)
    before = d.log.read_text().count("reload failed")
    started = time.monotonic()
    d.config.write_text("log_level: debug\nmin_duration: 1h" + MARKER)
    d.proc.send_signal(signal.SIGHUP)
    while d.log.read_text().count("reload failed") == before:
        assert d.proc.poll() is None, d.log.read_text()
        assert time.monotonic() - started < PARSE_DEADLINE + 10, d.log.read_text()
        time.sleep(0.02)
    log = d.log.read_text()
    if fault == "hang":
        assert (f"reload failed, still running on the previous configuration: {d.config}: "
                "cannot check the file: the YAML parser's process did not finish") in log, log
    else:
        assert (f"reload failed, still running on the previous configuration: {d.config}: "
                f"{expected_refusal(fault, sanitized)}") in log, log
        assert time.monotonic() - started < PARSE_DEADLINE
    m = d.metrics()
    assert m.get("execmond_config_last_reload_successful") == 0
    # Still counting, on the old min_duration (0: every exit).
    workload.run(comm)
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 2)
    assert m.get("execmond_exits_total", comm=comm) == 2
    reload(d, "log_level: info\n", expect="reload: the configuration did not change")
    assert d.metrics().get("execmond_config_last_reload_successful") == 1
    assert d.stop() == 0


def test_a_user_unit_named_like_a_system_unit_keeps_its_manager(daemon_factory, workload,
                                                                cgroups):
    """Issue 13, row 12: .../user@1000.service/app.slice/sshd.service was labelled
    sshd.service, and dropped by exclude_units: [sshd.service]."""
    d = daemon_factory("labels: [comm, unit]\nexclude_units: [sshd.service]\n")
    rand = secrets.token_hex(4)
    user_unit = cgroups.make(f"hostile{rand}.slice/user@1000.service/app.slice/sshd.service")
    system_unit = cgroups.make(f"hostile{rand}.slice/sshd.service")
    comm = workload.name("u")
    path = workload.path(comm)
    pids = [spawn_in(user_unit, path) for _ in range(5)] + [spawn_in(system_unit, path)
                                                           for _ in range(3)]
    assert wait_all(pids) == [0] * 8
    m = d.wait_for(lambda m: labelled_sum(m, "execmond_exits_total", comm=comm) >= 5)
    time.sleep(0.5)
    m = d.metrics()
    assert m.get("execmond_execs_total", comm=comm, unit="user@1000.service/sshd.service") == 5
    assert m.get("execmond_exits_total", comm=comm, unit="user@1000.service/sshd.service") == 5
    # The system's sshd.service is excluded as configured; nothing of the user's is.
    assert labelled_sum(m, "execmond_execs_total", comm=comm) == 5
    assert m.get("execmond_execs_total", comm=comm, unit="sshd.service") == 0
    assert d.stop() == 0


def test_a_burst_of_long_named_cgroups_leaves_room_for_new_units(daemon_factory, workload,
                                                                  cgroups):
    """Issue 13, row 13: 200 cgroups with ~1 KB escaped names filled the unit names
    (4096 x 48 bytes, never freed): every later unit was execmond_overflow. 250 here, so
    that the old store overflows whatever else the host holds."""
    d = daemon_factory("labels: [comm, unit]\n")
    rand = secrets.token_hex(4)
    slice_name = f"long{rand}.slice"
    cgroups.make(slice_name)
    comm = workload.name("l")
    path = workload.path(comm)
    # Control bytes (a newline is the one byte cgroupfs refuses) and backslashes: each
    # escapes to 2-4 characters, ~1 KB a label.
    controls = [c for c in range(1, 32) if c != 10]
    filler = "".join(chr(controls[i % 30]) if i % 80 else "\\" for i in range(240))
    names = [f"{filler}{i:03d}.service" for i in range(250)]
    made = [cgroups.make(f"{slice_name}/{name}") for name in names]
    for batch in range(0, 250, 25):
        assert wait_all([spawn_in(c, path) for c in made[batch:batch + 25]]) == [0] * 25
    m = d.wait_for(lambda m: labelled_sum(m, "execmond_exits_total", comm=comm) >= 250,
                   timeout=30)

    def label(name):  # events/printable_bytes.h's escaping
        return "".join("\\\\" if c == "\\" else (f"\\x{ord(c):02x}" if ord(c) < 0x20 else c)
                       for c in name)

    counted = {dict(k[1])["unit"]: v for k, v in m.samples.items()
               if k[0] == "execmond_exits_total" and dict(k[1]).get("comm") == comm}
    assert len(counted) == 250, sorted(counted)[:3]
    assert all(counted.get(label(name)) == 1 for name in names), sorted(counted)[:3]
    assert all(len(label(name)) > 900 for name in names)
    for name in names:
        cgroups.remove(f"{slice_name}/{name}")

    later = cgroups.make(f"{slice_name}/later-{rand}.service")
    assert wait_all([spawn_in(later, path) for _ in range(3)]) == [0] * 3
    m = d.wait_for(lambda m: labelled_sum(m, "execmond_exits_total", comm=comm) >= 253)
    assert m.get("execmond_exits_total", comm=comm, unit=f"later-{rand}.service") == 3
    assert m.get("execmond_exits_total", comm=comm, unit="execmond_overflow") == 0
    assert d.stop() == 0


def test_trace_shows_its_own_usage_on_a_bad_option(execmond_binary):
    result = subprocess.run([execmond_binary, "trace", "--bogus"], capture_output=True,
                            text=True, timeout=10)
    assert result.returncode == 2
    assert "unknown or incomplete option \"--bogus\"" in result.stderr
    assert "Usage: execmond trace" in result.stderr
    assert "--check-config" not in result.stderr, result.stderr


def test_an_unreadable_web_config_names_the_line_that_named_it(execmond_binary, tmp_path):
    config = tmp_path / "execmond.yaml"
    config.write_text("log_level: info\nweb_config_file: missing-web.yml\n")
    result = subprocess.run([execmond_binary, "--check-config", "--config", str(config)],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 3
    assert (f"{config}:2:18: web_config_file: cannot read {tmp_path}/missing-web.yml: "
            "No such file or directory") in result.stderr, result.stderr


def test_tracefs_hidden_by_a_mount_is_reported_as_such(execmond_binary, tmp_path):
    """With a tmpfs over /sys/kernel/tracing (in a mount namespace of the test's own), the
    log said the kernel had no system call tracepoints."""
    wrapper = tmp_path / "hidden-tracefs.sh"
    wrapper.write_text("#!/bin/sh\n"
                       "exec unshare -m sh -c 'mount -t tmpfs none /sys/kernel/tracing && "
                       f"exec \"$0\" \"$@\"' {execmond_binary} \"$@\"\n")
    wrapper.chmod(0o755)
    d = Daemon(str(wrapper), "log_level: debug\n", tmp_path).start()
    try:
        log = d.log.read_text()
        assert ("tracefs at /sys/kernel/tracing is hidden by a tmpfs mounted over it" in log), log
        assert "this kernel has no system call tracepoints" not in log, log
        if "failed execs not tracked" in log:  # no fexit or kprobes either, as on this VM
            assert "exec_failures: true, but failed execs are not counted" in log, log
        assert d.stop() == 0
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()

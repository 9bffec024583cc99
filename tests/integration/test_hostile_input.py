"""Hostile input the daemon must refuse or survive (issues 13 and 17): a configuration
yaml-cpp never finished parsing, cgroups a user names like system units, a burst of
cgroups with long names, and the operational messages that must say what is wrong."""

import os
import resource
import secrets
import signal
import subprocess
import time

from conftest import Daemon
from test_service import reload
from test_units import cgroups, labelled_sum, spawn_in, wait_all  # noqa: F401 (fixture)

HERE = os.path.dirname(os.path.abspath(__file__))
YAML_LOOP = os.path.join(HERE, "..", "fuzz", "corpus", "config", "yaml-cpp-loadall-loop-349b.yaml")


def run_timed(args, timeout=10):
    """Runs a command with a 1 GiB address-space limit; returns (result, seconds)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    started = time.monotonic()
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                            preexec_fn=limit)
    return result, time.monotonic() - started


def test_yaml_that_never_finished_parsing_is_refused_at_once(execmond_binary, tmp_path):
    """The fuzzer's 349-byte input grew --check-config to 2.8 GB in 10 s."""
    with open(YAML_LOOP, "rb") as f:
        bad = f.read()
    config = tmp_path / "loop.yaml"
    config.write_bytes(bad)
    expected = f"{config}:1:1: invalid YAML: unexpected \",\" here"

    for args in (["--check-config", "--config", str(config)],
                 ["--config", str(config), "--listen", "127.0.0.1:0"]):
        result, seconds = run_timed([execmond_binary, *args])
        assert result.returncode == 3, result.stderr
        assert expected in result.stderr, result.stderr
        assert seconds < 1.0, f"{args}: {seconds:.2f} s"


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
        assert time.monotonic() - started < 5, d.log.read_text()
        time.sleep(0.02)
    assert time.monotonic() - started < 1.0
    assert "invalid YAML: unexpected \",\" here" in d.log.read_text()
    m = d.metrics()
    assert m.get("execmond_config_last_reload_successful") == 0
    workload.run(comm)
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 2)
    assert m.get("execmond_execs_total", comm=comm) == 2
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

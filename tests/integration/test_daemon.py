"""The metrics daemon against the real kernel: exact counts, exit statuses, lifetimes,
configuration errors, a valid exposition, and a clean start and stop."""

import ctypes
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import (EXIT_PROGRAMS, free_port, held_program_ids, leaked_execmond_programs, loaded_programs,
                      require_tool)


def histogram(m, comm):
    """{le: cumulative count} of one comm's lifetime histogram."""
    return {float(dict(labels)["le"]): value
            for (name, labels), value in m.samples.items()
            if name == "execmond_process_duration_seconds_bucket" and dict(labels)["comm"] == comm}


def test_parallel_workloads_give_exact_counts(daemon_factory, workload, variant_env):
    """Execs, exits, non-zero exits, signal deaths and lifetimes land on the right
    counters, exactly, with unrelated processes running in parallel."""
    d = daemon_factory(env=variant_env)
    ok, failing, killed, slow = (workload.name(t) for t in ("o", "f", "k", "s"))
    jobs = ([(ok, ["--exit", 0])] * 12 + [(failing, ["--exit", 3])] * 7 +
            [(killed, ["--signal", int(signal.SIGTERM)])] * 5 +
            [(killed, ["--signal", int(signal.SIGKILL)])] * 4 +
            [(slow, ["--sleep-ms", 200])] * 6)
    statuses = workload.run_parallel(jobs)
    assert statuses.count(3) == 7 and statuses.count(-signal.SIGTERM) == 5

    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=slow) >= 6)
    for comm, runs in ((ok, 12), (failing, 7), (killed, 9), (slow, 6)):
        assert m.get("execmond_execs_total", comm=comm) == runs, comm
        assert m.get("execmond_exits_total", comm=comm) == runs, comm
        assert m.get("execmond_process_duration_seconds_count", comm=comm) == runs, comm
    assert m.get("execmond_exits_nonzero_total", comm=failing) == 7
    assert m.get("execmond_exits_nonzero_total", comm=ok) == 0
    assert m.get("execmond_exits_nonzero_total", comm=killed) == 0
    assert m.get("execmond_exits_signaled_total", comm=killed, signal="SIGTERM") == 5
    assert m.get("execmond_exits_signaled_total", comm=killed, signal="SIGKILL") == 4
    # 200 ms sleepers: none below 0.1 s, all by 0.5 s.
    buckets = histogram(m, slow)
    assert buckets[0.1] == 0 and buckets[0.5] == 6 and buckets[float("inf")] == 6
    assert 6 * 0.2 <= m.get("execmond_process_duration_seconds_sum", comm=slow) < 6 * 0.2 + 1.5
    assert m.total("execmond_events_lost_total") == 0
    assert d.stop() == 0


def test_lifetime_is_measured_from_exec(daemon_factory, workload, variant_env):
    """A process that lives 1.5 s is recorded with a 1.5 s lifetime (within 0.3 s)."""
    d = daemon_factory(env=variant_env)
    comm = workload.name("l")
    workload.run(comm, "--sleep-ms", 1500)
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 1)
    assert 1.5 <= m.get("execmond_process_duration_seconds_sum", comm=comm) < 1.8
    assert histogram(m, comm)[1.0] == 0 and histogram(m, comm)[5.0] == 1


def test_process_started_before_the_daemon_gets_its_true_lifetime(daemon_factory, workload,
                                                                  variant_env):
    """A process already running when execmond starts is not timed from the daemon's
    start: its lifetime covers its whole run, and its exec (before the daemon) is not
    counted."""
    comm = workload.name("b")
    started = time.monotonic()
    proc = workload.start(comm, "--sleep-ms", 3000)
    time.sleep(1.0)
    d = daemon_factory(env=variant_env)
    assert proc.wait() == 0
    lived = time.monotonic() - started
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 1)
    assert m.get("execmond_execs_total", comm=comm) == 0
    assert m.get("execmond_exits_total", comm=comm) == 1
    assert 3.0 <= m.get("execmond_process_duration_seconds_sum", comm=comm) <= lived + 0.1


def test_multithreaded_process_counts_as_one_exit(daemon_factory, workload, variant_env):
    """Threads ending together, a leader that leaves first and threads that rename
    themselves still make one exit, under the name the process exec'd as, with the
    status the last thread gave."""
    d = daemon_factory(env=variant_env)
    comm = workload.name("t")
    together = [(comm, ["--threads", 8, "--sleep-ms", 50, "--thread-name", "renamedthread"])] * 5
    leader_first = [(comm, ["--threads", 4, "--leader-exits-first", "--sleep-ms", 100,
                            "--thread-name", "renamedthread", "--exit", 9])] * 5
    statuses = workload.run_parallel(together + leader_first)
    assert statuses == [0] * 5 + [9] * 5
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) >= 10)
    time.sleep(0.5)  # would a duplicate arrive late?
    m = d.metrics()
    assert m.get("execmond_execs_total", comm=comm) == 10
    assert m.get("execmond_exits_total", comm=comm) == 10
    assert m.get("execmond_exits_nonzero_total", comm=comm) == 5
    assert m.get("execmond_exits_total", comm="renamedthread") == 0


def test_min_duration_drops_short_exits_in_the_kernel(daemon_factory, workload):
    """Exits of processes shorter than min_duration are not recorded; execs still are."""
    d = daemon_factory("min_duration: 300ms\n")
    comm = workload.name("m")
    workload.run_parallel([(comm, ["--exit", 0])] * 5 + [(comm, ["--sleep-ms", 500])] * 3)
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) >= 3)
    time.sleep(0.5)
    m = d.metrics()
    assert m.get("execmond_execs_total", comm=comm) == 8
    assert m.get("execmond_exits_total", comm=comm) == 3
    assert m.get("execmond_process_duration_seconds_count", comm=comm) == 3


def test_comm_filters(daemon_factory, workload):
    """include_comms / exclude_comms globs decide which names are counted."""
    prefix = workload.name()[:7]
    d = daemon_factory(f'include_comms: ["{prefix}*"]\nexclude_comms: ["{prefix}x*"]\n')
    kept, excluded, other = prefix + "keep", prefix + "xno", workload.name("z")
    workload.run_parallel([(kept, []), (excluded, []), (other, [])])
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=kept) == 1)
    time.sleep(0.3)
    m = d.metrics()
    assert m.get("execmond_execs_total", comm=kept) == 1
    assert excluded not in m.series("execmond_execs_total")
    assert other not in m.series("execmond_execs_total")


def test_series_bound_folds_new_names_into_overflow(daemon_factory, workload):
    """Past max_comm_series, new names fold into comm="execmond_overflow" and the
    folded events are counted."""
    prefix = workload.name()[:7]
    d = daemon_factory(f'max_comm_series: 3\ninclude_comms: ["{prefix}*"]\n')
    names = [f"{prefix}n{i}" for i in range(6)]
    for name in names:  # one after the other: the first three get the series
        workload.run(name)
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm="execmond_overflow") >= 3)
    assert [m.get("execmond_execs_total", comm=n) for n in names[:3]] == [1, 1, 1]
    assert all(n not in m.series("execmond_execs_total") for n in names[3:])
    assert m.get("execmond_execs_total", comm="execmond_overflow") == 3
    assert m.get("execmond_exits_total", comm="execmond_overflow") == 3
    assert m.get("execmond_comm_overflow_events_total") == 6
    assert m.get("execmond_comm_series") == 3
    assert m.get("execmond_comm_series_limit") == 3


def rename_self_and_exit(name):
    """In a forked child: set comm to arbitrary bytes, then exit."""
    libc = ctypes.CDLL(None)
    libc.prctl(15, ctypes.c_char_p(name), 0, 0, 0)  # PR_SET_NAME
    os._exit(0)


def test_any_comm_bytes_give_a_valid_distinct_exposition(daemon_factory, workload):
    """Names made of quotes, backslashes, newlines and invalid UTF-8 still give an
    exposition promtool accepts, and different byte strings stay different series."""
    promtool = require_tool("promtool")
    d = daemon_factory()
    tag = workload.name()[:5].encode()
    names = [tag + b'"\\\n{}', tag + b"\\x41", tag + b"A", tag + b"\xff\xfe", tag + b"\xe2\x80\xae"]
    for name in names:
        pid = os.fork()
        if pid == 0:
            rename_self_and_exit(name)
        os.waitpid(pid, 0)
    expected = {tag.decode() + s for s in ['"\\\\\\x0a{}', "\\\\x41", "A", "\\xff\\xfe", "\\xe2\\x80\\xae"]}
    m = d.wait_for(lambda m: expected <= set(m.series("execmond_exits_total")))
    assert expected <= set(m.series("execmond_exits_total"))
    check = subprocess.run([promtool, "check", "metrics"], input=d.scrape()[0],
                           capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.strip() == "" and check.stderr.strip() == "", \
        check.stdout + check.stderr


def test_live_scrape_passes_promtool_and_serves_gzip(daemon_factory, workload):
    """A live scrape is a valid exposition with every contract metric, and gzip is
    served to clients that ask."""
    promtool = require_tool("promtool")
    d = daemon_factory()
    comm = workload.name("p")
    workload.run_parallel([(comm, ["--exit", 2]), (comm, ["--signal", int(signal.SIGKILL)])])
    d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 2)
    text, _ = d.scrape()
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip() == "" and check.stderr.strip() == "", check.stdout + check.stderr
    for family in ("execmond_execs_total", "execmond_exits_total", "execmond_exits_nonzero_total",
                   "execmond_exits_signaled_total", "execmond_process_duration_seconds",
                   "execmond_events_lost_total", "execmond_build_info", "execmond_comm_series",
                   "execmond_comm_overflow_events_total"):
        assert f"# TYPE {family} " in text, family
    zipped, headers = d.scrape(gzip_encoding=True)
    assert headers.get("Content-Encoding") == "gzip"
    assert "execmond_build_info" in zipped


def test_lost_events_are_counted_never_silent(daemon_factory, workload):
    """When the reader cannot keep up (here: stopped), the ring buffer fills and every
    record that found no room is counted: counted + lost == what happened."""
    d = daemon_factory("ring_buffer_size: 64KiB\n")
    comm = workload.name("x")
    os.kill(d.proc.pid, signal.SIGSTOP)
    try:
        runs = 0
        for _ in range(20):
            workload.run_parallel([(comm, [])] * 25)
            runs += 25
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)
    m = d.wait_for(lambda m: False, timeout=1.0)
    lost = m.total("execmond_events_lost_total")
    counted = m.get("execmond_execs_total", comm=comm) + m.get("execmond_exits_total", comm=comm)
    assert lost > 0, "a 64 KiB ring buffer cannot hold 1000 records"
    # Other processes on the host may have lost records too: lost covers at least ours.
    assert counted < 2 * runs and counted + lost >= 2 * runs
    # By kind: these were exec and exit records (no allow-list, no failed exec).
    kinds = {dict(k[1])["record"] for k in m.samples if k[0] == "execmond_events_lost_total"}
    assert kinds == {"exec", "exit", "exec_failed", "binary"}
    ours = m.get("execmond_events_lost_total", record="exec") + \
        m.get("execmond_events_lost_total", record="exit")
    assert ours > 0 and counted + ours >= 2 * runs
    assert m.get("execmond_events_lost_total", record="binary") == 0


def test_sigterm_shuts_down_cleanly_and_detaches(daemon_factory):
    """SIGTERM and SIGINT: exit 0, nothing left attached in the kernel."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        d = daemon_factory()
        mine = held_program_ids(d.proc.pid)
        names = {name for i, name in loaded_programs().items() if i in mine}
        assert "handle_exec" in names and EXIT_PROGRAMS & names
        assert d.stop(sig) == 0
        assert "programs detached" in d.log.read_text()
        assert not mine & set(loaded_programs()), "programs outlived the daemon"
        assert not leaked_execmond_programs()


BAD_CONFIGS = [
    ("lisen: 1\n", ":1:1:", "unknown key"),
    ("listen: 1.2.3.4:99999\n", ":1:9:", "listen"),
    ("min_duration: fast\n", ":1:15:", "min_duration"),
    ("max_comm_series: -1\n", ":1:18:", "max_comm_series"),
    ("ring_buffer_size: 3MiB\n", ":1:19:", "power of two"),
    ("include_comms: nginx\n", ":1:16:", "include_comms"),
    ("log_level: loud\n", ":1:12:", "log_level"),
    ("listen: [1\n", ":", ""),
]


@pytest.mark.parametrize("text,location,words", BAD_CONFIGS)
def test_bad_config_is_rejected_with_file_and_line(execmond_binary, tmp_path, text, location,
                                                   words):
    """--check-config and the daemon itself reject a bad file with its path, line and
    what was expected, exit 3, and load nothing."""
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    check = subprocess.run([execmond_binary, "--check-config", "--config", str(path)],
                           capture_output=True, text=True)
    assert check.returncode == 3
    assert f"{path}{location}" in check.stderr and words in check.stderr, check.stderr
    run = subprocess.run([execmond_binary, "--config", str(path)], capture_output=True, text=True,
                         timeout=30)
    assert run.returncode == 3 and str(path) in run.stderr
    assert not leaked_execmond_programs()


def test_check_config_accepts_the_shipped_default(execmond_binary):
    source = os.path.join(os.path.dirname(__file__), "..", "..", "config", "execmond.yaml")
    check = subprocess.run([execmond_binary, "--check-config", "--config", source],
                           capture_output=True, text=True)
    assert check.returncode == 0 and "valid" in check.stdout
    check = subprocess.run([execmond_binary, "--check-config"], capture_output=True, text=True)
    assert check.returncode == 0 and "<embedded default>" in check.stdout


def test_environment_failures_are_one_clear_line(execmond_binary, tmp_path):
    """Not privileged, port in use, bad command line: a clear message, a documented exit
    code, nothing attached."""
    port = free_port()
    unprivileged = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
         execmond_binary, "--listen", f"127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=30)
    assert unprivileged.returncode == 4, unprivileged.stderr
    assert "CAP_BPF" in unprivileged.stderr and "root" in unprivileged.stderr

    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", port))
        busy.listen()
        in_use = subprocess.run([execmond_binary, "--listen", f"127.0.0.1:{port}"],
                                capture_output=True, text=True, timeout=30)
    assert in_use.returncode == 6
    assert "already in use" in in_use.stderr

    usage = subprocess.run([execmond_binary, "--frobnicate"], capture_output=True, text=True)
    assert usage.returncode == 2 and "--frobnicate" in usage.stderr
    listen = subprocess.run([execmond_binary, "--listen", "localhost:x"], capture_output=True,
                            text=True)
    assert listen.returncode == 3 and "--listen" in listen.stderr
    assert not leaked_execmond_programs()

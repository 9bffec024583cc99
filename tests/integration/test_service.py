# SPDX-License-Identifier: Apache-2.0
"""The daemon as a service: SIGHUP reload without losing counts, a failed reload that
keeps the old configuration, a reader failure that ends the process, and the
process_* self-metrics."""

import os
import signal
import time

from conftest import leaked_execmond_programs


def reload(d, config_text, expect="reload: ", timeout=10):
    """Writes a new config, sends SIGHUP and waits for the daemon to say how it went."""
    before = d.log.read_text().count(expect)
    d.config.write_text(config_text)
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while d.log.read_text().count(expect) <= before:
        assert d.proc.poll() is None, f"execmond died on SIGHUP:\n{d.log.read_text()}"
        assert time.monotonic() < deadline, f"no '{expect}' after SIGHUP:\n{d.log.read_text()}"
        time.sleep(0.05)


def test_sighup_applies_new_settings_and_keeps_every_counter(daemon_factory, workload):
    d = daemon_factory("log_level: info\n")
    comm = workload.name("r")
    workload.run_parallel([(comm, ["--exit", 2])] * 4)
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 4)
    stamp = m.get("execmond_config_last_reload_success_timestamp_seconds")
    assert m.get("execmond_config_last_reload_successful") == 1

    time.sleep(1.1)  # the timestamp has a visible second to move
    reload(d, "log_level: debug\npoll_interval: 50ms\n", expect="reload: applied the new")
    workload.run_parallel([(comm, ["--exit", 2])] * 3)
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 7)
    assert m.get("execmond_execs_total", comm=comm) == 7
    assert m.get("execmond_exits_nonzero_total", comm=comm) == 7
    assert m.get("execmond_config_last_reload_successful") == 1
    assert m.get("execmond_config_last_reload_success_timestamp_seconds") > stamp
    log = d.log.read_text()
    assert "reload: applied the new log_level" in log
    assert "reload: applied the new poll_interval" in log
    assert d.stop() == 0


def test_a_bad_config_on_reload_changes_nothing(daemon_factory, workload):
    d = daemon_factory("")
    comm = workload.name("b")
    workload.run(comm)
    d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 1)

    reload(d, "log_level: info\nmin_duration: fast\n", expect="reload failed")
    log = d.log.read_text()
    assert f"{d.config}:2:15: min_duration: expected a duration" in log, log
    m = d.metrics()
    assert m.get("execmond_config_last_reload_successful") == 0
    # Still counting, with every count it had.
    workload.run(comm)
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 2)
    assert m.get("execmond_execs_total", comm=comm) == 2

    reload(d, "log_level: info\n", expect="reload: the configuration did not change")
    assert d.metrics().get("execmond_config_last_reload_successful") == 1
    assert d.stop() == 0


def test_settings_that_need_a_restart_say_so_and_keep_running(daemon_factory):
    d = daemon_factory("ring_buffer_size: 4MiB\n")
    reload(d, "ring_buffer_size: 1MiB\n", expect="only takes effect when execmond restarts")
    assert "ring_buffer_size changed" in d.log.read_text()
    assert d.metrics().get("execmond_config_last_reload_successful") == 1
    assert d.stop() == 0


def test_a_failed_reader_ends_the_process(daemon_factory, workload, tmp_path):
    """A reader that stops must not leave /metrics serving numbers nobody updates:
    the process exits 1 (systemd restarts it) and leaves nothing attached."""
    d = daemon_factory("", env={"EXECMOND_INJECT_READER_FAULT_AFTER": "20"})
    for _ in range(5):
        workload.run_parallel([(workload.name("f"), [])] * 10)
        if d.proc.poll() is not None:
            break
    assert d.proc.wait(timeout=15) == 1
    log = d.log.read_text()
    assert "ring buffer reader stopped: injected reader fault" in log, log
    assert "exiting so that the service manager restarts execmond" in log
    assert not leaked_execmond_programs()


def test_self_metrics_are_present_and_plausible(daemon_factory):
    d = daemon_factory("")
    m = d.metrics()
    rss = m.get("process_resident_memory_bytes")
    assert 1 << 20 < rss < 512 << 20
    assert m.get("process_virtual_memory_bytes") > rss
    assert m.get("process_open_fds") >= 5  # BPF maps, programs, links, sockets
    assert m.get("process_max_fds") >= m.get("process_open_fds")
    started = m.get("process_start_time_seconds")
    assert time.time() - 60 < started <= time.time() + 1
    assert 0 <= m.get("process_cpu_seconds_total") < 60
    assert d.stop() == 0


def test_sighup_applies_new_filters_without_resetting_counts(daemon_factory, workload):
    """A name excluded by a reload stops counting but keeps its counts; a name the old
    filter excluded starts counting; the series bound moves too."""
    prefix = workload.name()[:7]
    kept, dropped, late = prefix + "keep", prefix + "drop", prefix + "late"
    d = daemon_factory(f'include_comms: ["{prefix}*"]\nexclude_comms: ["{late}"]\n')
    workload.run_parallel([(kept, [])] * 3 + [(dropped, [])] * 2 + [(late, [])] * 2)
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=dropped) == 2)
    assert late not in m.series("execmond_execs_total")

    reload(d, f'include_comms: ["{prefix}*"]\nexclude_comms: ["{dropped}"]\n'
              "max_comm_series: 2000\n", expect="reload: applied the new max_comm_series")
    assert "reload: applied the new include_comms/exclude_comms" in d.log.read_text()
    time.sleep(0.3)  # the reader applies it between two drains
    workload.run_parallel([(kept, [])] * 3 + [(dropped, [])] * 2 + [(late, [])] * 2)
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=late) == 2)
    time.sleep(0.3)
    m = d.metrics()
    assert m.get("execmond_execs_total", comm=kept) == 6
    assert m.get("execmond_execs_total", comm=dropped) == 2  # kept, no longer counting
    assert m.get("execmond_execs_total", comm=late) == 2
    assert m.get("execmond_comm_series_limit") == 2000
    assert d.stop() == 0


def test_lifetime_histogram_can_be_turned_off_and_on_by_reload(daemon_factory, workload):
    """lifetime_histogram: false shrinks each name's series from ~25 to ~6 without losing
    the lifetimes: a reload back to true shows every exit in the histogram."""
    d = daemon_factory("lifetime_histogram: false\n")
    comm = workload.name("h")
    workload.run_parallel([(comm, [])] * 3)
    m = d.wait_for(lambda m: m.get("execmond_exits_total", comm=comm) == 3)
    assert not [k for k in m.samples if k[0].startswith("execmond_process_duration_seconds")]
    reload(d, "lifetime_histogram: true\n", expect="reload: applied the new lifetime_histogram")
    m = d.wait_for(lambda m: m.get("execmond_process_duration_seconds_count", comm=comm) == 3)
    assert m.get("execmond_process_duration_seconds_count", comm=comm) == 3
    assert d.stop() == 0

# SPDX-License-Identifier: Apache-2.0
"""Which binary ran: resolved paths in the kernel, the allow-list in the daemon.

Each test works in a directory of its own under /tmp with a random name, so that the
unexpected paths it counts are its own whatever else runs on the host.
"""

import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid


from conftest import copy_executable, require_tool
from test_trace import Trace, matches, readers  # noqa: F401 (a fixture)

TIMEOUT = 20
ALLOW = ["/usr/bin/*", "/usr/sbin/*", "/usr/lib/**", "/bin/*", "/sbin/*"]


def binaries_config(allow=ALLOW):
    items = "".join(f'\n    - "{p}"' for p in allow)
    return f"binaries:\n  allow:{items}\n"


def unexpected(metrics, path, comm, reason="not_allowed"):
    return metrics.get("execmond_unexpected_execs_total", path=path, comm=comm, reason=reason)


def unexpected_by_path(metrics, path):
    """Summed over comms: an exec through /proc/self/fd/N is named N."""
    return sum(v for k, v in metrics.samples.items()
               if k[0] == "execmond_unexpected_execs_total" and dict(k[1])["path"] == path)


def unexpected_paths(metrics):
    return {dict(k[1])["path"] for k in metrics.samples if k[0] == "execmond_unexpected_execs_total"}


def run(argv, **kwargs):
    assert subprocess.run(argv, stderr=subprocess.DEVNULL, **kwargs).returncode == 0


def exec_deleted_file(path):
    """Opens `path`, unlinks it, then execs it through /proc/self/fd."""
    code = ("import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.unlink(sys.argv[1]); "
            "os.execv('/proc/self/fd/%d' % fd, ['deleted'])")
    run([sys.executable, "-c", code, path])


def exec_memfd(name, source):
    code = ("import os,sys; fd=os.memfd_create(sys.argv[1], 0); "
            "os.write(fd, open(sys.argv[2],'rb').read()); "
            "os.execve(fd, ['memfd'], {})")  # execveat(fd, \"\", AT_EMPTY_PATH)
    run([sys.executable, "-c", code, name, source])


def exec_files_without_a_plain_path(scratch, true_exit):
    """Execs a file through a bind mount, a #!/bin/sh script by a relative path, a file
    unlinked before it runs and a memfd; returns the memfd's name."""
    os.makedirs(os.path.join(scratch, "src"))
    os.makedirs(os.path.join(scratch, "mnt"))
    copy_executable(true_exit, os.path.join(scratch, "src", "bound"))
    run(["mount", "--bind", os.path.join(scratch, "src"), os.path.join(scratch, "mnt")])
    run([os.path.join(scratch, "mnt", "bound")])
    script = os.path.join(scratch, "job.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(script, 0o755)
    run(["./job.sh"], cwd=scratch)
    exec_deleted_file(copy_executable(true_exit, os.path.join(scratch, "gone")))
    memfd_name = "xb" + uuid.uuid4().hex[:8]
    exec_memfd(memfd_name, true_exit)
    return memfd_name


def test_unexpected_binaries_are_counted_by_resolved_path(daemon_factory, scratch, true_exit):
    """A no-op copied to /tmp/<random>/sshd is unexpected with its full path, each exec
    counted; /usr/bin/true, ./true from /usr/bin and a symlink to it are not; a bind mount
    made on the host keeps the name it was run by (a host name too); a script is judged by
    its own path; deleted and memfd files are unexpected with their own reasons and named
    like /proc/PID/exe names them."""
    d = daemon_factory(binaries_config())
    sshd = copy_executable(true_exit, os.path.join(scratch, "sshd"))
    for _ in range(3):
        run([sshd])
    run(["/usr/bin/true"])
    run(["./true"], cwd="/usr/bin")
    os.symlink("/usr/bin/true", os.path.join(scratch, "link"))
    run([os.path.join(scratch, "link")])

    memfd_name = exec_files_without_a_plain_path(scratch, true_exit)
    script = os.path.join(scratch, "job.sh")
    deleted = os.path.join(scratch, "gone")

    memfd_path = f"/memfd:{memfd_name} (deleted)"
    m = d.wait_for(lambda m: unexpected_by_path(m, memfd_path) > 0, timeout=TIMEOUT)
    assert unexpected(m, sshd, "sshd") == 3
    assert unexpected(m, os.path.join(scratch, "mnt", "bound"), "bound") == 1
    assert unexpected(m, script, "job.sh") == 1
    assert unexpected(m, deleted + " (deleted)", "3", "deleted") == 1
    assert unexpected_by_path(m, memfd_path) == 1
    assert {dict(k[1])["reason"] for k in m.samples
            if k[0] == "execmond_unexpected_execs_total" and dict(k[1])["path"] == memfd_path} \
        == {"memfd"}
    ours = {p for p in unexpected_paths(m) if p.startswith(scratch) or p == memfd_path}
    assert ours == {sshd, os.path.join(scratch, "mnt", "bound"), script, deleted + " (deleted)",
                    memfd_path}, ours
    paths = unexpected_paths(m)
    assert "/usr/bin/true" not in paths
    assert os.path.join(scratch, "link") not in paths
    assert m.total("execmond_events_lost_total") == 0

    d.stop()
    log = d.log.read_text()
    script_lines = [l for l in log.splitlines() if f'path="{script}" ' in l]
    assert script_lines and 'interpreter="/usr/bin/dash"' in script_lines[0], log[-2000:]
    assert f'path="{memfd_path}" reason="memfd"' in log and 'flags="memfd,deleted,' in log
    assert f'path="{deleted} (deleted)" ' in log


def exec_with_argv(trace, argv):
    def wanted(line):
        return argv[-1].encode() in line and json.loads(line).get("argv") == argv

    return json.loads(trace.expect(wanted, f"exec {argv}")[1])


def test_trace_json_carries_the_resolved_path_of_every_exec(execmond_binary, readers, scratch,
                                                           true_exit):
    """Every exec line has "path"; ./true, a symlink, a bind mount, a script, a deleted file
    and a memfd each show the file that really ran."""
    trace = readers(Trace, [execmond_binary, "trace", "--json"])
    sshd = copy_executable(true_exit, os.path.join(scratch, "sshd"))
    trace.sync(lambda: run([sshd]), lambda line: matches(line, {"type": "exec", "path": sshd}),
               "the exec of sshd")
    marker = uuid.uuid4().hex[:8]
    run(["./true", marker], cwd="/usr/bin")
    os.symlink("/usr/bin/true", os.path.join(scratch, "link"))
    run([os.path.join(scratch, "link"), marker])
    memfd_name = exec_files_without_a_plain_path(scratch, true_exit)
    script = os.path.join(scratch, "job.sh")
    deleted = os.path.join(scratch, "gone")

    _, e = trace.expect_event(type="exec", path=f"/memfd:{memfd_name} (deleted)")
    assert e["memfd"] and e["deleted"] and e["interpreter"] is None
    e = exec_with_argv(trace, ["./true", marker])
    assert e["path"] == "/usr/bin/true" and not e["deleted"]
    e = exec_with_argv(trace, [os.path.join(scratch, "link"), marker])
    assert e["path"] == "/usr/bin/true"
    trace.expect_event(type="exec", path=os.path.join(scratch, "mnt", "bound"))
    _, e = trace.expect_event(type="exec", path=script)
    assert e["filename"] == "./job.sh" and e["interpreter"] == "/usr/bin/dash"
    _, e = trace.expect_event(type="exec", path=deleted + " (deleted)")
    assert e["deleted"] and not e["memfd"]
    trace.stop()
    execs = [e for e in trace.events() if e["type"] == "exec"]
    assert execs and all("path" in e for e in execs)
    # The binary record precedes its exec: only an exec whose record was lost (the ring
    # buffer full, which the trace reports) has none.
    unresolved = [e for e in execs if e["path"] is None]
    assert not unresolved or "events were lost" in trace.stderr(), unresolved[:3]


def test_trace_unexpected_shows_only_unexpected_execs(execmond_binary, readers, scratch,
                                                      true_exit, tmp_path):
    config = tmp_path / "allow.yaml"
    config.write_text(binaries_config(["/usr/bin/*", f"{scratch}/ok*"]))
    trace = readers(Trace, [execmond_binary, "trace", "--json", "--unexpected", "--config",
                            str(config)])
    bad = copy_executable(true_exit, os.path.join(scratch, "bad"))
    ok = copy_executable(true_exit, os.path.join(scratch, "ok1"))
    os.symlink("/usr/bin/true", os.path.join(scratch, "viatrue"))
    trace.sync(lambda: run([bad]), lambda line: matches(line, {"type": "exec", "path": bad}),
               "the exec of bad")
    for _ in range(3):
        run([ok])
        run([os.path.join(scratch, "viatrue")])
    run([bad])
    time.sleep(1)
    trace.stop()
    events = trace.events()
    assert events and all(e["type"] == "exec" for e in events)
    paths = {e["path"] for e in events}
    assert ok not in paths and "/usr/bin/true" not in paths
    assert sum(e["path"] == bad for e in events) >= 2
    # Content lines (the digest, once hashed) only for what is unexpected.
    content = {c["path"] for c in trace.content_events()}
    assert ok not in content and "/usr/bin/true" not in content
    assert all(c["unexpected"] for c in trace.content_events())


def test_trace_unexpected_needs_an_allow_list(execmond_binary, tmp_path):
    config = tmp_path / "none.yaml"
    config.write_text("log_level: info\n")
    result = subprocess.run([execmond_binary, "trace", "--unexpected", "--config", str(config)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 3
    # A logfmt line: the message's quotes escaped.
    assert 'has no \\"binaries: allow:\\" section' in result.stderr, result.stderr


def spawn_many(argv_list):
    for argv in argv_list:
        pid = os.posix_spawn(argv[0], argv, {})
        os.waitpid(pid, 0)


def test_counts_are_exact_under_a_parallel_storm(daemon_factory, scratch, true_exit):
    """8 processes exec one unexpected binary 400 times each at once: 3200 counted."""
    d = daemon_factory(binaries_config())
    storm = copy_executable(true_exit, os.path.join(scratch, "storm"))
    with multiprocessing.get_context("fork").Pool(8) as pool:
        pool.map(spawn_many, [[[storm]] * 400] * 8)
    m = d.wait_for(lambda m: unexpected(m, storm, "storm") >= 3200, timeout=TIMEOUT)
    assert m.total("execmond_events_lost_total") == 0
    assert unexpected(m, storm, "storm") == 3200


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def test_twenty_thousand_unexpected_paths_stay_bounded(daemon_factory, scratch, true_exit,
                                                       sanitized):
    """20,000 hard links with random names: their uid (root here) gets at most a quarter of
    the 1000 series, every other exec is counted in the overflow, memory stays bounded, and
    the exposition still passes promtool."""
    promtool = require_tool("promtool")
    # One malloc arena, so that the RSS measures the daemon's memory rather than which
    # threads glibc gave arenas of their own (test_units.py's 5,000 cgroups saw 1 to 8 MiB).
    d = daemon_factory(binaries_config(), env={"MALLOC_ARENA_MAX": "1"})
    source = copy_executable(true_exit, os.path.join(scratch, "source"))
    names = []
    for i in range(20000):
        names.append(os.path.join(scratch, uuid.uuid4().hex[:12]))
        os.link(source, names[-1])
    rss_before = rss_kib(d.proc.pid)
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(spawn_many, [[[n] for n in names[i::4]] for i in range(4)])

    def ours(m):
        return sum(v for k, v in m.samples.items() if k[0] == "execmond_unexpected_execs_total"
                   and dict(k[1])["path"].startswith(scratch))

    # Every exec has happened; a loaded machine may leave the reader behind for a while.
    m = d.wait_for(lambda m: ours(m) + m.get("execmond_unexpected_overflow_execs_total") >= 20000,
                   timeout=180)
    assert m.total("execmond_events_lost_total") == 0
    assert m.get("execmond_unexpected_series_limit") == 1000
    series = [k for k in m.samples if k[0] == "execmond_unexpected_execs_total"
              and dict(k[1])["path"].startswith(scratch)]
    assert len(series) <= 250  # one uid's quarter
    overflow = m.get("execmond_unexpected_overflow_execs_total")
    assert m.get("execmond_unexpected_execs_total", path="execmond_overflow",
                 comm="execmond_overflow", reason="execmond_overflow") == overflow
    assert ours(m) + overflow >= 20000  # others' unexpected execs may overflow too
    assert overflow >= 19750
    assert m.get("execmond_unexpected_exec_logs_suppressed_total") > 0
    grown = rss_kib(d.proc.pid) - rss_before
    print(f"RSS grew by {grown} KiB")
    # AddressSanitizer keeps freed memory in quarantine by design (23 MiB here, measured).
    if not sanitized:
        assert grown < 16 * 1024, f"RSS grew by {grown} KiB"
    check = subprocess.run([promtool, "check", "metrics"], input=d.scrape()[0],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_without_the_section_nothing_is_resolved(daemon_factory, scratch, true_exit):
    d = daemon_factory("log_level: info\n")
    name = "xb" + uuid.uuid4().hex[:8]
    run([copy_executable(true_exit, os.path.join(scratch, name))])
    m = d.wait_for(lambda m: m.get("execmond_execs_total", comm=name) >= 1)
    assert m.get("execmond_execs_total", comm=name) == 1
    assert unexpected_paths(m) == set()
    assert m.get("execmond_unexpected_series") == 0

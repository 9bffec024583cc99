# SPDX-License-Identifier: Apache-2.0
"""Unexpected binaries no local user can hide (issue 13): every row of its table, as the
user the row names, against the real daemon. A file is judged by what the kernel ran,
named as the host sees it; what the process controls is context.

Each test works in a /tmp directory of its own and judges only the series of its paths,
since the daemon sees every exec on the host.
"""

import ctypes
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import require_tool
from identity_helpers import (ALLOW, AS_USER, UID, FreshOwner, binaries_config, by_path,
                              copy_executable, ours, run, series,
                              unexpected_lines, unique, write_script)
from test_trace import Trace, matches, readers  # noqa: F401 (a fixture)

TIMEOUT = 20
LOADER = "/lib64/ld-linux-x86-64.so.2"


def kernel_at_least(major, minor):
    numbers = platform.release().split("-")[0].split(".")
    return (int(numbers[0]), int(numbers[1])) >= (major, minor)


def wait_path(d, path, reason=None, execs=1, timeout=TIMEOUT):
    """Scrapes until `path` has `execs` unexpected execs (for `reason`, if given)."""
    def done(m):
        counts = by_path(m, path)
        return (counts.get(reason, 0) if reason else sum(counts.values())) >= execs
    m = d.wait_for(done, timeout=timeout)
    assert done(m), f"{path}: {by_path(m, path)}"
    return m


def test_row1_a_loader_run_by_hand_is_judged_by_its_program(daemon_factory, scratch, true_exit):
    """`/lib64/ld-linux-x86-64.so.2 /tmp/x/evil` as uid 1000 names /tmp/x/evil (reason
    loader), --argv0 changes nothing; ldd and a shell script in /usr/bin raise nothing."""
    d = daemon_factory(binaries_config())
    # A dynamic program: the loader maps and runs it itself (a static one it would exec,
    # which the kernel then sees as any exec).
    evil = copy_executable("/usr/bin/true", os.path.join(scratch, "evil"))
    run(AS_USER + [LOADER, evil])
    run(AS_USER + [LOADER, "--argv0", "/usr/bin/true", "--inhibit-cache", evil])
    m = wait_path(d, evil, "loader", execs=2)
    assert by_path(m, evil) == {"loader": 2}
    # ldd: a bash script in /usr/bin running the loader with --verify, then the program
    # under LD_TRACE_LOADED_OBJECTS; `which` is a shell script reached through links.
    marker = unique("l")
    os.symlink("/usr/bin/true", os.path.join(scratch, marker))
    run(AS_USER + ["ldd", "/usr/bin/true"])
    run(AS_USER + ["which", "true"])
    run([LOADER, os.path.join(scratch, marker)])  # the program is /usr/bin/true itself
    run(AS_USER + [LOADER, "--list", evil])  # only maps it: nothing runs
    time.sleep(1.5)
    m = d.metrics()
    allowed_paths = [k for k in series(m) if k[0].startswith(("/usr/bin/", "/usr/lib/", "/bin/"))]
    assert not allowed_paths, allowed_paths
    assert by_path(m, evil) == {"loader": 2}
    assert m.total("execmond_events_lost_total") == 0


def make_root(scratch, true_exit, name):
    """A root directory holding /usr/bin/NAME, readable by uid 1000."""
    root = os.path.join(scratch, "root")
    os.makedirs(os.path.join(root, "usr", "bin"))
    return root, copy_executable(true_exit, os.path.join(root, "usr", "bin", name))


def test_row2_a_users_chroot_is_judged_by_host_paths_and_poisons_no_cache(
        daemon_factory, scratch, true_exit):
    """`unshare -Ur chroot /tmp/x/root /usr/bin/evil` as uid 1000: /tmp/x/root/usr/bin/evil,
    not /usr/bin/evil; then the same file run from the host is unexpected too (no verdict
    from the chroot was cached as allowed)."""
    d = daemon_factory(binaries_config())
    name = unique()
    root, evil = make_root(scratch, true_exit, name)
    run(AS_USER + ["unshare", "-Ur", "chroot", root, f"/usr/bin/{name}"])
    m = wait_path(d, evil)
    assert by_path(m, evil) == {"not_allowed": 1}
    assert not by_path(m, f"/usr/bin/{name}")
    for _ in range(3):
        run([evil])
    m = wait_path(d, evil, execs=4)
    assert by_path(m, evil) == {"not_allowed": 4}
    # And root's own chroot, a view root chose: the host's name too.
    run(["chroot", root, f"/usr/bin/{name}"])
    m = wait_path(d, evil, execs=5)
    assert by_path(m, evil) == {"not_allowed": 5}


def test_row3_a_bind_mount_over_a_system_path_is_judged_as_the_real_file(
        daemon_factory, scratch, true_exit):
    """uid 1000 binds its file over /usr/bin/true in its own mount namespace and runs
    /usr/bin/true: the file is its own, named where it really is."""
    d = daemon_factory(binaries_config())
    evil = copy_executable(true_exit, os.path.join(scratch, unique()))
    run(AS_USER + ["unshare", "-Urm", "sh", "-c",
                   f"mount --bind {evil} /usr/bin/true && /usr/bin/true"])
    m = wait_path(d, evil)
    assert series(m).get((evil, "true", "not_allowed")) == 1
    assert not by_path(m, "/usr/bin/true")


def test_row4_files_on_mounts_the_host_cannot_see_are_private_mounts(
        daemon_factory, scratch, true_exit):
    """uid 1000: a tmpfs over /usr/local/sbin, an overlay over it, and 46 stacked tmpfs:
    never judged by /usr/local/sbin/NAME, always private_mount."""
    d = daemon_factory(binaries_config(ALLOW + ["/usr/local/sbin/*"]))
    source = copy_executable(true_exit, os.path.join(scratch, "source"))
    tmpfs, overlay, stacked = unique("t"), unique("o"), unique("s")
    run(AS_USER + ["unshare", "-Urm", "sh", "-c",
                   f"mount -t tmpfs t /usr/local/sbin && cp {source} /usr/local/sbin/{tmpfs} && "
                   f"/usr/local/sbin/{tmpfs}"])
    for layer in ("lower", "upper", "work"):
        os.makedirs(os.path.join(scratch, layer))
    os.chmod(os.path.join(scratch, "upper"), 0o777)
    os.chmod(os.path.join(scratch, "work"), 0o777)
    copy_executable(true_exit, os.path.join(scratch, "lower", overlay))
    run(AS_USER + ["unshare", "-Urm", "sh", "-c",
                   f"mount -t overlay o -o lowerdir={scratch}/lower,upperdir={scratch}/upper,"
                   f"workdir={scratch}/work /usr/local/sbin && /usr/local/sbin/{overlay}"])
    stack = "; ".join(["mount -t tmpfs t /usr/local/sbin"] * 46)
    run(AS_USER + ["unshare", "-Urm", "sh", "-c",
                   f"{stack}; cp {source} /usr/local/sbin/{stacked} && /usr/local/sbin/{stacked}"])
    for name in (tmpfs, overlay):
        path = f"/usr/local/sbin/{name}"
        m = wait_path(d, path)
        assert by_path(m, path) == {"private_mount": 1}, (name, series(m))
    # 46 mounts cut the process's own name (the part the walk reached); the file is still
    # on a superblock the host cannot see.
    m = d.wait_for(lambda m: any(k[1] == stacked for k in series(m)), timeout=TIMEOUT)
    assert {k[2]: v for k, v in series(m).items() if k[1] == stacked} == {"private_mount": 1}


def test_row5_a_binfmt_misc_handler_is_judged_as_what_runs(daemon_factory, scratch, true_exit):
    """uid 1000 registers, in its own binfmt_misc, a rule matching /usr/bin/true's bytes
    with its own handler, then runs /usr/bin/true: the handler is what runs."""
    if not kernel_at_least(6, 7):
        pytest.fail("binfmt_misc per user namespace needs Linux 6.7 (this test's kernel: "
                    f"{platform.release()})")
    d = daemon_factory(binaries_config())
    handler = copy_executable(true_exit, os.path.join(scratch, unique("h")))
    with open("/usr/bin/true", "rb") as f:
        header = f.read(18)
    magic = "".join(f"\\x{byte:02x}" for byte in header)
    misc = "/proc/sys/fs/binfmt_misc"
    run(AS_USER + ["unshare", "-Urm", "sh", "-c",
                   f"mount -t binfmt_misc none {misc} && "
                   f"printf '%s' ':xi:M::{magic}::{handler}:' > {misc}/register && "
                   "/usr/bin/true"])
    m = wait_path(d, handler)
    assert by_path(m, handler) == {"not_allowed": 1}
    assert not by_path(m, "/usr/bin/true")


def execveat(dirfd, path):
    """execveat(dirfd, path, [path], [], 0): what no shell does."""
    libc = ctypes.CDLL(None, use_errno=True)
    argv = (ctypes.c_char_p * 2)(path.encode(), None)
    envp = (ctypes.c_char_p * 1)(None)
    libc.syscall(322, dirfd, path.encode(), argv, envp, 0)  # __NR_execveat on x86_64
    os._exit(127)


def test_row6_a_script_through_a_symlink_and_dotdot_is_the_file_the_kernel_ran(
        daemon_factory, scratch):
    """`/tmp/x/L/../../../usr/bin/s.sh` folds to /usr/bin/s.sh, but the kernel followed L
    (to /tmp/x/a/b/c) and ran /tmp/x/usr/bin/s.sh; so does execveat(fd of L, "../../..")."""
    d = daemon_factory(binaries_config())
    os.makedirs(os.path.join(scratch, "a", "b", "c"))
    os.makedirs(os.path.join(scratch, "usr", "bin"))
    os.symlink(os.path.join(scratch, "a", "b", "c"), os.path.join(scratch, "L"))
    script = write_script(os.path.join(scratch, "usr", "bin", "s.sh"), body="sleep 1\n")
    given = os.path.join(scratch, "L", "..", "..", "..", "usr", "bin", "s.sh")
    assert os.path.normpath(given) == "/usr/bin/s.sh"  # what folding the string says
    run(AS_USER + [given])
    m = wait_path(d, script)
    assert by_path(m, script) == {"not_allowed": 1}
    assert not by_path(m, "/usr/bin/s.sh")

    pid = os.fork()
    if pid == 0:
        os.setgid(UID)
        os.setuid(UID)
        fd = os.open(os.path.join(scratch, "L"), os.O_PATH | os.O_DIRECTORY)
        os.set_inheritable(fd, True)  # kept open across the exec, as /dev/fd/N
        execveat(fd, "../../../usr/bin/s.sh")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    m = wait_path(d, script, execs=2)
    assert by_path(m, script) == {"not_allowed": 2}


def long_script_path(scratch, script, length):
    """A path of exactly `length` bytes to `script`: /usr/lib/././…/../../<scratch>/s.sh."""
    tail = "../.." + script
    path = "/usr/lib/"
    while len(path) + len(tail) < length:
        path += "./" if len(path) + len(tail) + 2 <= length else "/"
    path += tail
    assert len(path) == length and os.path.realpath(path) == script
    return path


def test_row7_a_script_path_of_1024_bytes_or_more_is_truncated(daemon_factory, scratch):
    """A 1,024- and a 3,000-byte path are cut by the kernel: unexpected as truncated,
    never judged by the cut string (/usr/lib/...); 1,023 bytes are whole."""
    d = daemon_factory(binaries_config(ALLOW + [f"{scratch}/ok/*"]))
    os.makedirs(os.path.join(scratch, "ok"))
    script = write_script(os.path.join(scratch, "ok", "s.sh"))
    for length in (1023, 1024, 3000):
        run(AS_USER + [long_script_path(scratch, script, length)])
    time.sleep(2)
    m = d.metrics()
    # Both cut paths are truncated (labelled by the cut string: never a name to trust),
    # and nothing of this test under any other reason.
    mine = {k: v for k, v in series(m).items() if k[1] == "s.sh" and (
        k[0].startswith("/usr/lib/./") or k[0].startswith(scratch))}
    assert {k[2] for k in mine} == {"truncated"}, mine
    assert sum(mine.values()) == 2, mine
    assert not by_path(m, script)  # the 1,023-byte path: the allowed script itself


def test_row8_a_scripts_interpreter_is_judged_too(daemon_factory, scratch, true_exit):
    """A script in an allowed directory whose #! interpreter is /tmp/x/interp: the
    interpreter is unexpected."""
    d = daemon_factory(binaries_config(ALLOW + [f"{scratch}/allowed/*"]))
    os.makedirs(os.path.join(scratch, "allowed"))
    interp = copy_executable(true_exit, os.path.join(scratch, "interp"))
    script = write_script(os.path.join(scratch, "allowed", "s.sh"), interpreter=interp)
    run(AS_USER + [script])
    m = wait_path(d, interp)
    assert by_path(m, interp) == {"not_allowed": 1}
    assert not by_path(m, script)


def test_a_script_whose_interpreter_is_on_an_overlay_of_two_filesystems_is_named(
        daemon_factory, scratch, true_exit):
    """An overlay whose layers are on different filesystems (a lower directory on the
    root filesystem, an upper on tmpfs), in the host's own mount namespace: statx reports
    a layer's pseudo-device for its files, the kernel the overlay's superblock. The
    interpreter found by the walk is still the one that ran (found on a systemd-nspawn
    root, where every script was "unverified"); an allowed script and interpreter raise
    nothing, the same script outside the list is not_allowed, never unverified."""
    lower = tempfile.mkdtemp(prefix="xmov", dir="/var/tmp")
    upper_fs = os.path.join(scratch, "upperfs")
    merged = os.path.join(scratch, "merged")
    os.makedirs(upper_fs)
    os.makedirs(merged)
    mounted = []
    try:
        copy_executable(true_exit, os.path.join(lower, "interp"))
        run(["mount", "-t", "tmpfs", "tmpfs", upper_fs])
        mounted.append(upper_fs)
        os.makedirs(os.path.join(upper_fs, "upper"))
        os.makedirs(os.path.join(upper_fs, "work"))
        run(["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={lower},upperdir={upper_fs}/upper,workdir={upper_fs}/work", merged])
        mounted.append(merged)
        interp = os.path.join(merged, "interp")
        assert os.stat(interp).st_dev != os.stat(merged).st_dev, "the layers share a device"
        os.makedirs(os.path.join(merged, "ok"))
        name = unique("o")
        script = write_script(os.path.join(merged, "ok", name), interpreter=interp)
        outside = write_script(os.path.join(merged, name), interpreter=interp)
        d = daemon_factory(binaries_config(ALLOW + [f"{merged}/interp", f"{merged}/ok/*"]))
        run([script])
        run([outside])
        m = wait_path(d, outside)
        assert by_path(m, outside) == {"not_allowed": 1}
        assert not by_path(m, script) and not by_path(m, interp)
    finally:
        for path in reversed(mounted):
            subprocess.run(["umount", "-l", path], check=False)
        shutil.rmtree(lower, ignore_errors=True)


def flood(owner, names):
    """Runs every path in `names` once as `owner`, from one process."""
    code = ("import os,sys\n"
            "for p in sys.argv[1:]:\n"
            "    os.waitpid(os.posix_spawn(p, [p], {}), 0)\n")
    chunk = 1000
    for i in range(0, len(names), chunk):
        subprocess.run(owner.argv([sys.executable, "-c", code, *names[i:i + chunk]]), check=True,
                       timeout=300)


def test_row9_after_a_flood_a_new_path_is_logged_within_a_second_and_traced(
        daemon_factory, execmond_binary, readers, scratch, true_exit, tmp_path):
    """Row 9 (1,100 hard links to one tiny binary) and item 7 (5,000 distinct files) by one
    user, then its real payload: a log line names it within 1 s, `trace --unexpected`
    shows it, every exec is counted (series or overflow), and the flood took at most its
    quarter of the series. (Hard links are one file: counted under the name it was first
    judged by.)"""
    config = binaries_config()
    d = daemon_factory(config)
    (tmp_path / "trace.yaml").write_text(config)
    trace = readers(Trace, [execmond_binary, "trace", "--json", "--unexpected", "--config",
                            str(tmp_path / "trace.yaml")])
    junk = copy_executable(true_exit, os.path.join(scratch, "junk"))
    names = []
    for i in range(1100):
        names.append(os.path.join(scratch, f"h{i:05d}"))
        os.link(junk, names[-1])
    for i in range(5000):
        names.append(copy_executable(true_exit, os.path.join(scratch, f"j{i:05d}")))
    probe = copy_executable(true_exit, os.path.join(scratch, "probe"))
    trace.sync(lambda: run([probe]), lambda line: matches(line, {"path": probe}),
               "the trace's first line")
    payload = copy_executable(true_exit, os.path.join(scratch, "payload"))
    owner = FreshOwner()
    try:
        started = time.monotonic()
        flood(owner, names)
        flood_seconds = time.monotonic() - started
        assert len(names) / flood_seconds > 10  # faster than the old per-path log limit
        log_size = d.log.stat().st_size
        ran_at = time.monotonic()
        subprocess.run(owner.argv([payload]), check=True)
        while True:
            with open(d.log) as f:
                f.seek(log_size)
                fresh = unexpected_lines(f.read())
            if any(line["path"] == payload and line["uid"] == str(owner.uid) for line in fresh):
                break
            assert time.monotonic() - ran_at < 1.0, "no log line for the payload within 1 s"
            time.sleep(0.02)
        trace.expect(lambda line: matches(line, {"path": payload, "uid": owner.uid}),
                     "the payload's trace line after the flood")
    finally:
        owner.remove()
    total = len(names) + 2  # and the probe, and the payload
    m = d.wait_for(lambda m: sum(ours(m, scratch).values()) +
                   m.get("execmond_unexpected_overflow_execs_total") >= total, timeout=60)
    junk_series = [k for k in ours(m, scratch) if k[0] not in (payload, probe)]
    assert len(junk_series) <= 250  # one uid's quarter of the 1,000 series
    assert sum(ours(m, scratch).values()) + m.get("execmond_unexpected_overflow_execs_total") \
        >= total
    assert m.get("execmond_unexpected_overflow_execs_total") >= 5000 - 250
    # Its own series, or the overflow once its uid used its quarter: counted either way.
    assert sum(by_path(m, payload).values()) <= 1
    assert m.get("execmond_unexpected_exec_logs_suppressed_total") > 0
    assert m.total("execmond_events_lost_total") == 0
    # The held-back lines are summed, by uid.
    summaries = [line for line in d.log.read_text().splitlines()
                 if "held back by the rate limits" in line and f"{owner.uid}:" in line]
    assert summaries
    trace.stop()


def test_row11_a_file_name_cannot_forge_log_fields(daemon_factory, scratch, true_exit):
    """A file named `a interpreter=- comm=sshd pid=1 ppid=0 uid=0 x`, with a newline
    and a quote: the stderr line's fields are the real ones, the path one value."""
    d = daemon_factory(binaries_config())
    name = 'a interpreter=- comm=sshd pid=1 ppid=0 uid=0 "\nlevel=info x'
    hostile = copy_executable(true_exit, os.path.join(scratch, name))
    owner = FreshOwner()
    try:
        process = subprocess.Popen(owner.argv([hostile]))
        assert process.wait(timeout=30) == 0
    finally:
        owner.remove()
    m = wait_path(d, hostile.replace("\n", "\\x0a"))
    d.stop()
    lines = [line for line in unexpected_lines(d.log.read_text()) if line["uid"] == str(owner.uid)]
    assert len(lines) == 1, lines
    line = lines[0]
    assert line["path"] == hostile.replace("\n", "\\x0a")  # the label's text, whole
    assert line["comm"] == name[:15] and line["pid"] != "1" and line["uid"] == str(owner.uid)
    assert line["reason"] == "not_allowed" and line["view"] == "host"
    # Every line of the log is one logfmt record: none starts inside a value.
    for text in d.log.read_text().splitlines():
        assert text.startswith("ts="), text


def test_exec_context_is_logged_and_traced_and_never_widens_the_list(
        daemon_factory, execmond_binary, readers, scratch, true_exit, tmp_path):
    """uid 1000 in `unshare -Ur` chrooted: the line says uid, euid, the user namespace
    (unprivileged), the mount namespace, the chroot and the process's own path; the
    trace's JSON the same."""
    config = binaries_config()
    d = daemon_factory(config)
    (tmp_path / "c.yaml").write_text(config)
    trace = readers(Trace, [execmond_binary, "trace", "--json", "--config",
                            str(tmp_path / "c.yaml")])
    probe = copy_executable(true_exit, os.path.join(scratch, "probe"))
    trace.sync(lambda: run([probe]), lambda line: matches(line, {"path": probe}), "a first exec")
    # Its first exec: judged from its binary record, which carries the context. (An exec
    # answered from the kernel's cache carries none: its line says what /proc still
    # shows of the process, or "unknown".)
    name = unique()
    root, evil = make_root(scratch, true_exit, name)
    run(AS_USER + ["unshare", "-Urm", "chroot", root, f"/usr/bin/{name}"])
    _, e = trace.expect_event(path=evil, uid=UID)
    assert e["process_path"] == f"/usr/bin/{name}"
    assert e["unexpected"] and e["reason"] == "not_allowed" and e["view"] == "host"
    assert e["context"] == {"euid": 0 + UID, "egid": UID, "userns": "unprivileged",
                            "userns_level": 1, "mntns": "other", "chroot": True}
    trace.stop()
    wait_path(d, evil)
    d.stop()
    line = next(line for line in unexpected_lines(d.log.read_text())
                if line["path"] == evil and line["uid"] == str(UID))
    assert (line["euid"], line["userns"], line["mntns"], line["chroot"]) == \
        (str(UID), "unprivileged", "other", "yes")
    assert line["process_path"] == f"/usr/bin/{name}"


def test_the_binaries_section_toggled_40_times_under_a_storm_flags_nothing_allowed(
        daemon_factory, true_exit):
    """Issue 17 item 7: turning `binaries:` on and off by reload, 40 times, while
    /usr/bin/true runs in a loop: not one allowed binary is counted as unexpected."""
    from test_service import reload
    d = daemon_factory("log_level: info\n")
    storm = subprocess.Popen(["sh", "-c", "while :; do /usr/bin/true; /bin/true; done"])
    try:
        for i in range(40):
            text = binaries_config() if i % 2 == 0 else "log_level: info\n"
            reload(d, text, expect="reload: applied the new binaries")
            time.sleep(0.05)
    finally:
        storm.send_signal(signal.SIGKILL)
        storm.wait()
    time.sleep(0.5)
    m = d.metrics()
    false_alerts = [k for k in series(m)
                    if k[0].startswith(("/usr/bin/", "/usr/sbin/", "/usr/lib/", "/bin/"))]
    assert not false_alerts, false_alerts
    assert m.get("execmond_config_last_reload_successful") == 1
    assert m.get("execmond_execs_total", comm="true") > 1000  # the storm ran throughout

# SPDX-License-Identifier: Apache-2.0
"""What the file is (issue 14): content digests, package verification, drift, runtimes'
own copies, on real BPF and real files.

Every test works on files of its own (a random name in /tmp, /usr/local/bin or /usr/bin,
a test package, a test image), removes them at the end, and judges only the series and
lines of those files whatever else runs on the host.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import pytest
import yaml

from conftest import require_tool
from test_trace import Trace, matches, readers  # noqa: F401 (a fixture)

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = 30


def shipped_binaries():
    with open(os.path.join(SOURCE, "config", "execmond.yaml")) as f:
        return yaml.safe_load(f)["binaries"]


def content_config(allow=None, packaged=True, extra=()):
    """The shipped binaries section (packaged: true, its globs), with changes."""
    allow = shipped_binaries()["allow"] if allow is None else allow
    lines = ["log_level: info", *extra, "binaries:",
             f"  packaged: {'true' if packaged else 'false'}", "  allow:"]
    lines += [f'    - "{p}"' for p in allow]
    return "\n".join(lines) + "\n"


def program(true_exit, marker):
    """The static no-op with bytes of its own after it: a file of its own content that
    still runs (the loader maps only what the program headers name)."""
    with open(true_exit, "rb") as f:
        return f.read() + b"\0execmond-content-test " + marker.encode() + b"\n"


def write_program(path, content):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(content)
    os.chmod(tmp, 0o755)
    os.rename(tmp, path)
    # Older than kVersionSettleNs: its verdict may be cached, as a real file's is.
    time.sleep(0.05)
    return path


def flip_last_byte(path):
    """Changes one byte in place (same inode), returns the old byte."""
    with open(path, "r+b") as f:
        f.seek(-1, os.SEEK_END)
        old = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([old[0] ^ 0x01]))
    time.sleep(0.05)
    return old


def put_back_last_byte(path, old):
    with open(path, "r+b") as f:
        f.seek(-1, os.SEEK_END)
        f.write(old)
    time.sleep(0.05)


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run(argv, **kwargs):
    assert subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          **kwargs).returncode == 0, argv


def unexpected_of(metrics, path):
    """{(comm, reason): count} of the unexpected execs of `path`."""
    found = {}
    for (name, labels), value in metrics.samples.items():
        labels = dict(labels)
        if name == "execmond_unexpected_execs_total" and labels.get("path") == path:
            found[(labels["comm"], labels["reason"])] = value
    return found


def settled(metrics):
    """No verdict waits for a digest or for the package manager."""
    return (metrics.get("execmond_content_verdicts_waiting", **{"for": "hash"}) == 0 and
            metrics.get("execmond_content_verdicts_waiting", **{"for": "package_manager"}) == 0)


def lost_events(metrics):
    return sum(v for k, v in metrics.samples.items() if k[0] == "execmond_events_lost_total")


def wait_judged(daemon, comm, execs):
    """Waits until `execs` execs of `comm` are counted (their binary records came before
    them) and no verdict waits any more."""
    m = daemon.wait_for(lambda m: m.get("execmond_execs_total", comm=comm) >= execs and
                        settled(m), timeout=TIMEOUT)
    assert m.get("execmond_execs_total", comm=comm) == execs and settled(m)
    return m


def assert_logged(daemon, needle):
    """The unexpected-exec lines are budgeted per uid and in all (log_budget.h): on a
    host where others flood as root, a line may be held back, and the log says so."""
    log = daemon.log.read_text()
    assert needle in log or "held back by the rate limits" in log, \
        f"{needle} not logged, and no line held back:\n{log[-3000:]}"


def wait_for_packages(daemon, loads=1):
    m = daemon.wait_for(lambda m: m.get("execmond_package_database_loads_total") >= loads,
                        timeout=60)
    assert m.get("execmond_package_database_loads_total") >= loads, \
        f"the package database was not loaded:\n{daemon.log.read_text()[-3000:]}"
    assert m.get("execmond_package_database_files") > 1000
    return m


def test_unpackaged_files_in_usr_local_bin_and_usr_bin(daemon_factory, true_exit):
    """With the shipped configuration, a file no package owns dropped into /usr/local/bin
    or /usr/bin is unexpected with reason unpackaged (a glob does not vouch for a
    stranger among packaged files); the packaged /usr/bin/true is not. The log line and
    the info metric carry its SHA-256."""
    d = daemon_factory(content_config())
    wait_for_packages(d)
    name = "xmc" + uuid.uuid4().hex[:8]
    paths = [f"/usr/local/bin/{name}", f"/usr/bin/{name}"]
    content = program(true_exit, name)
    try:
        for path in paths:
            write_program(path, content)
            run([path])
        run(["/usr/bin/true"])
        m = d.wait_for(lambda m: all(unexpected_of(m, p) for p in paths) and settled(m),
                       timeout=TIMEOUT)
        for path in paths:
            assert unexpected_of(m, path) == {(name, "unpackaged"): 1}, unexpected_of(m, path)
        assert not unexpected_of(m, "/usr/bin/true")
        digest = hashlib.sha256(content).hexdigest()
        m = d.wait_for(lambda m: all(m.get("execmond_unexpected_file_info", path=p, sha256=digest)
                                     for p in paths), timeout=TIMEOUT)
        for path in paths:
            assert m.get("execmond_unexpected_file_info", path=path, sha256=digest) == 1
        for path in paths:
            assert_logged(d, f'path="{path}" reason="unpackaged"')
        # The digest is in the exec's line, or in the content line that follows it.
        assert_logged(d, f'sha256="{digest}"')
    finally:
        for path in paths:
            if os.path.exists(path):
                os.unlink(path)


def build_deb(work, package, version, content):
    """A package holding /usr/bin/PACKAGE, with its md5sums as dh_md5sums writes them."""
    root = os.path.join(work, f"{package}_{version}")
    os.makedirs(os.path.join(root, "DEBIAN"))
    os.makedirs(os.path.join(root, "usr", "bin"))
    with open(os.path.join(root, "usr", "bin", package), "wb") as f:
        f.write(content)
    os.chmod(os.path.join(root, "usr", "bin", package), 0o755)
    with open(os.path.join(root, "DEBIAN", "md5sums"), "w") as f:
        f.write(f"{hashlib.md5(content).hexdigest()}  usr/bin/{package}\n")
    with open(os.path.join(root, "DEBIAN", "control"), "w") as f:
        f.write(f"Package: {package}\nVersion: {version}\nArchitecture: all\n"
                "Maintainer: execmond tests <root@localhost>\n"
                "Description: execmond content test package\n a program that exits 0\n")
    deb = os.path.join(work, f"{package}_{version}_all.deb")
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", root, deb], check=True,
                   stdout=subprocess.DEVNULL)
    return deb


APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "-o", "Dpkg::Use-Pty=0"]


def exec_while(path, busy):
    """Execs `path` every few ms until busy() is false; returns how many ran."""
    count = 0
    while busy():
        try:
            if subprocess.run([path], stderr=subprocess.DEVNULL).returncode == 0:
                count += 1
        except OSError:
            pass  # between dpkg's unlink and rename, or being replaced
        time.sleep(0.005)
    return count


def test_packaged_binary_modified_then_reinstalled_and_upgraded(daemon_factory, true_exit,
                                                                scratch):
    """A test package's binary: allowed by its package; one byte changed in place:
    modified, naming the package; restored: allowed again. `apt-get install
    --reinstall` and an upgrade to a version with other content, with the binary run
    all along: nothing unexpected (the database is reloaded without a restart, and an
    exec dpkg has not recorded yet waits for it)."""
    require_tool("dpkg-deb")
    package = "execmond-content-test"
    binary = f"/usr/bin/{package}"
    comm = package[:15]
    subprocess.run(["dpkg", "-P", package], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    v1 = build_deb(scratch, package, "1.0", program(true_exit, "version 1"))
    v2 = build_deb(scratch, package, "2.0", program(true_exit, "version 2"))
    d = daemon_factory(content_config())
    loads = wait_for_packages(d).get("execmond_package_database_loads_total")
    try:
        run(["dpkg", "-i", v1])
        # The database is watched: the package is known without a restart.
        wait_for_packages(d, loads + 1)
        for _ in range(3):
            run([binary])
        m = wait_judged(d, comm, 3)
        assert not unexpected_of(m, binary), unexpected_of(m, binary)

        old = flip_last_byte(binary)
        for _ in range(2):
            run([binary])
        m = d.wait_for(lambda m: sum(unexpected_of(m, binary).values()) >= 2, timeout=TIMEOUT)
        assert unexpected_of(m, binary) == {(comm, "modified"): 2}, unexpected_of(m, binary)
        assert m.get("execmond_unexpected_file_info", path=binary, sha256=sha256_of(binary)) == 1
        assert_logged(d, f'path="{binary}" reason="modified"')

        put_back_last_byte(binary, old)
        run([binary])
        m = wait_judged(d, comm, 6)
        assert unexpected_of(m, binary) == {(comm, "modified"): 2}

        for deb, args in ((v1, ["install", "--reinstall"]), (v2, ["install"])):
            loads = d.metrics().get("execmond_package_database_loads_total")
            apt = subprocess.Popen([*APT, *args, deb], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, env=dict(os.environ,
                                                                    DEBIAN_FRONTEND="noninteractive"))
            before = d.metrics().get("execmond_execs_total", comm=comm)
            ran = exec_while(binary, lambda: apt.poll() is None)
            assert apt.wait() == 0, apt.stderr.read().decode(errors="replace")
            for _ in range(3):
                run([binary])
            wait_for_packages(d, loads + 1)
            m = d.wait_for(lambda m: settled(m) and m.get("execmond_execs_total", comm=comm) >=
                           before + ran + 3, timeout=60)
            assert settled(m) and m.get("execmond_execs_total", comm=comm) == before + ran + 3
            assert unexpected_of(m, binary) == {(comm, "modified"): 2}, \
                f"apt-get {' '.join(args)} ({ran} execs during it): {unexpected_of(m, binary)}"
        with open(binary, "rb") as f:
            assert f.read().endswith(b"version 2\n")
    finally:
        subprocess.run(["dpkg", "-P", package], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("packaged", [True, False])
def test_sha256_entry_admits_its_content_at_any_path(daemon_factory, true_exit, scratch,
                                                     packaged):
    """A sha256: entry admits the file with those bytes wherever it is; a copy with one
    byte changed is unexpected (unpackaged with the package check, not_allowed
    without)."""
    vendor = write_program(os.path.join(scratch, "vendor-agent"), program(true_exit, "vendor"))
    digest = sha256_of(vendor)
    allow = shipped_binaries()["allow"] + [f"sha256:{digest}"]
    d = daemon_factory(content_config(allow=allow, packaged=packaged))
    if packaged:
        wait_for_packages(d)
    os.makedirs(os.path.join(scratch, "elsewhere"))
    copy = os.path.join(scratch, "elsewhere", "agent-copy")
    shutil.copyfile(vendor, copy)
    os.chmod(copy, 0o755)
    changed = os.path.join(scratch, "elsewhere", "agent-changed")
    shutil.copyfile(vendor, changed)
    os.chmod(changed, 0o755)
    flip_last_byte(changed)
    for path in (vendor, copy, changed):
        run([path])
    reason = "unpackaged" if packaged else "not_allowed"
    for comm in ("vendor-agent", "agent-copy", "agent-changed"):
        wait_judged(d, comm, 1)
    m = d.wait_for(lambda m: unexpected_of(m, changed) and settled(m), timeout=TIMEOUT)
    assert unexpected_of(m, changed) == {("agent-changed", reason): 1}, unexpected_of(m, changed)
    assert not unexpected_of(m, vendor)
    assert not unexpected_of(m, copy)
    changed_digest = sha256_of(changed)
    m = d.wait_for(lambda m: m.get("execmond_unexpected_file_info", path=changed,
                                   sha256=changed_digest), timeout=TIMEOUT)
    assert m.get("execmond_unexpected_file_info", path=changed, sha256=changed_digest) == 1
    assert_logged(d, f'sha256="{changed_digest}"')


def test_trace_json_names_the_content(execmond_binary, readers, true_exit, scratch, tmp_path):
    """execmond trace --json: an exec's "sha256" is there when the digest is known at
    once (its file ran before); a "content" line brings it otherwise, with the verdict
    when the verdict waited for it."""
    path = write_program(os.path.join(scratch, "traced"), program(true_exit, "traced"))
    digest = sha256_of(path)
    config = tmp_path / "trace.yaml"
    config.write_text(content_config())
    trace = readers(Trace, [execmond_binary, "trace", "--json", "--config", str(config)])
    trace.sync(lambda: run([path]), lambda line: matches(line, {"type": "exec", "path": path}),
               f"exec of {path}")
    _, content = trace.expect_event(type="content", path=path)
    assert content["sha256"] == digest
    assert content["unexpected"] is True and content["reason"] == "unpackaged"
    # Seen before: the exec's own line has it.
    run([path])
    trace.expect(lambda line: matches(line, {"type": "exec", "path": path, "sha256": digest}),
                 f"an exec of {path} with its sha256")
    trace.stop()


def build_busybox_image(work, tag):
    """FROM scratch, /bin/busybox only: no registry."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    out = subprocess.run(["ldd", busybox], capture_output=True, text=True)
    assert "not a dynamic executable" in out.stdout + out.stderr, \
        f"{busybox} is not static (apt-get install busybox-static)"
    os.makedirs(os.path.join(work, "image", "bin"))
    shutil.copyfile(busybox, os.path.join(work, "image", "bin", "busybox"))
    os.chmod(os.path.join(work, "image", "bin", "busybox"), 0o755)
    with open(os.path.join(work, "image", "Containerfile"), "w") as f:
        f.write("FROM scratch\nCOPY bin/ /bin/\n")
    subprocess.run(["podman", "--runtime", "runc", "build", "-q", "-t", tag, "-f",
                    os.path.join(work, "image", "Containerfile"), os.path.join(work, "image")],
                   check=True, stdout=subprocess.DEVNULL)


PODMAN_RUN = ["podman", "--runtime", "runc", "run", "--rm", "--ulimit", "nofile=1024:1024",
              "--ulimit", "nproc=4096:4096"]


def test_drift_in_a_podman_container(daemon_factory, scratch):
    """In a rootful podman container (runc): a binary of the image runs silently; the same
    binary copied inside the running container (overlayfs upper layer) and run is
    unexpected with reason drift, and the series names the container. runc's own execs
    at the container's start raise nothing."""
    require_tool("podman")
    require_tool("runc")
    tag = f"localhost/execmond-drift-{uuid.uuid4().hex[:8]}:test"
    build_busybox_image(scratch, tag)
    d = daemon_factory(content_config(extra=["labels: [comm, unit, container]"]))
    wait_for_packages(d)
    name = "xd" + uuid.uuid4().hex[:8]
    try:
        # busybox runs the applet its argv[0] names: the copy is /NAME/sleep.
        run([*PODMAN_RUN, tag, "/bin/busybox", "sh", "-c",
             f"/bin/busybox true && /bin/busybox mkdir /{name} && "
             f"/bin/busybox cp /bin/busybox /{name}/sleep && /{name}/sleep 1"])
        drifted = f"/{name}/sleep"
        m = d.wait_for(lambda m: unexpected_of(m, drifted) and settled(m), timeout=TIMEOUT)
        series = [(dict(k[1]), v) for k, v in m.samples.items()
                  if k[0] == "execmond_unexpected_execs_total" and dict(k[1])["path"] == drifted]
        assert len(series) == 1, series
        labels, value = series[0]
        assert labels["reason"] == "drift" and value == 1, series
        container = labels["container"]
        assert container.startswith("podman:"), labels
        # Nothing else of that container: not the image's own busybox, not runc's execs
        # (runc init runs in the container's cgroup, from its copy or its bind-mounted
        # self).
        ours = [dict(k[1]) for k in m.samples if k[0] == "execmond_unexpected_execs_total" and
                dict(k[1]).get("container") == container]
        assert ours == [labels], ours
        # The process lived: its content was read through /proc/PID/exe.
        with open("/bin/busybox", "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        m = d.wait_for(lambda m: m.get("execmond_unexpected_file_info", path=drifted,
                                       sha256=digest), timeout=TIMEOUT)
        assert m.get("execmond_unexpected_file_info", path=drifted, sha256=digest) == 1
    finally:
        subprocess.run(["podman", "rmi", "-f", tag], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


EXEC_COPY = r"""
import os, sys
kind, name, source = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(source, "rb").read()
if kind == "memfd":
    fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, data)
else:  # an O_TMPFILE copy, as runc's fallback makes it
    rw = os.open(name, os.O_TMPFILE | os.O_RDWR, 0o700)
    os.write(rw, data)
    fd = os.open(f"/proc/self/fd/{rw}", os.O_RDONLY | os.O_CLOEXEC)
    os.close(rw)
os.execve(fd, ["runc"] + (sys.argv[4:] or ["--version"]), {})
"""


def exec_copy(kind, name, source, *args):
    out = subprocess.run([sys.executable, "-c", EXEC_COPY, kind, name, source, *args],
                         capture_output=True)
    return out.returncode


def test_runtime_copies_are_recognised_by_content(daemon_factory, request, scratch):
    """runc re-executing itself from a sealed memfd named runc_cloned:/proc/self/exe, or
    from an O_TMPFILE copy, is runc: not flagged. A memfd with that name and other bytes
    is flagged (reason memfd)."""
    workload = os.path.abspath(request.config.getoption("--workload"))
    runc = require_tool("runc")
    d = daemon_factory(content_config())
    wait_for_packages(d)
    # runc runs from its own path first, as it always does before copying itself.
    run([runc, "--version"])
    d.wait_for(settled, timeout=TIMEOUT)
    assert exec_copy("memfd", "runc_cloned:/proc/self/exe", runc) == 0
    assert exec_copy("tmpfile", scratch, runc) == 0
    # The spoof lives a second: a memfd is read through /proc/PID/exe while its process
    # lives (the host cannot name it), and a process gone first leaves the digest unknown.
    spoof = program(workload, "spoof")
    spoof_path = os.path.join(scratch, "spoof")
    with open(spoof_path, "wb") as f:
        f.write(spoof)
    assert exec_copy("memfd", "runc_cloned:/proc/self/exe", spoof_path, "--sleep-ms", "1000") == 0

    def flagged(m):
        return {dict(k[1])["path"]: (dict(k[1])["reason"], v) for k, v in m.samples.items()
                if k[0] == "execmond_unexpected_execs_total" and
                ("runc_cloned" in dict(k[1])["path"] or dict(k[1])["path"].startswith(scratch))}

    m = d.wait_for(lambda m: flagged(m) and settled(m), timeout=TIMEOUT)
    time.sleep(1)  # anything else would have come by now
    m = d.wait_for(settled, timeout=TIMEOUT)
    found = flagged(m)
    assert len(found) == 1, found
    (path, (reason, value)), = found.items()
    assert "runc_cloned:/proc/self/exe" in path and reason == "memfd" and value == 1, found
    spoof_digest = hashlib.sha256(spoof).hexdigest()
    m = d.wait_for(lambda m: m.get("execmond_unexpected_file_info", path=path, sha256=spoof_digest),
                   timeout=TIMEOUT)
    assert m.get("execmond_unexpected_file_info", path=path, sha256=spoof_digest) == 1
    assert_logged(d, spoof_digest)


def scrape_seconds(url):
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
    return time.monotonic() - started


def test_a_storm_of_new_files_and_a_large_one(daemon_factory, true_exit, scratch):
    """1,000 distinct new files run once each, and one 100 MB binary, each admitted by
    its content alone (a sha256: entry), so that each verdict waits for its own digest:
    every exec counted exactly, every scrape answered within 2 s meanwhile, every
    digest arrives (no verdict left waiting, none unexpected)."""
    storm_dir = os.path.join(scratch, "storm")
    small = program(true_exit, "storm")
    large = os.path.join(scratch, "xmlarge")
    with open(large, "wb") as f:
        f.write(program(true_exit, "large"))
        f.write(os.urandom(1 << 20) * 100)
    os.chmod(large, 0o755)
    allow = shipped_binaries()["allow"] + [f"sha256:{hashlib.sha256(small).hexdigest()}",
                                           f"sha256:{sha256_of(large)}"]
    d = daemon_factory(content_config(allow=allow))
    wait_for_packages(d)
    before = d.metrics()
    paths = []
    for i in range(1000):
        os.makedirs(os.path.join(storm_dir, str(i)))
        path = os.path.join(storm_dir, str(i), "xmstorm")
        with open(path, "wb") as f:
            f.write(small)
        os.chmod(path, 0o755)
        paths.append(path)
    time.sleep(0.05)

    slowest = [0.0]
    done = threading.Event()

    def scrape_all_along():
        while not done.is_set():
            slowest[0] = max(slowest[0], scrape_seconds(d.url))
            time.sleep(0.1)

    scraper = threading.Thread(target=scrape_all_along)
    scraper.start()
    try:
        run([large])
        for path in paths:
            run([path])
        m = d.wait_for(lambda m: m.get("execmond_execs_total", comm="xmstorm") >= 1000,
                       timeout=TIMEOUT)
        assert m.get("execmond_execs_total", comm="xmstorm") == 1000
        assert m.get("execmond_execs_total", comm="xmlarge") == 1
        m = d.wait_for(settled, timeout=120)
        assert settled(m), "verdicts still wait for digests after 120 s"
        hashed = m.get("execmond_content_hashes_total") - before.get("execmond_content_hashes_total")
        assert hashed >= 1001
        assert m.get("execmond_content_hashed_bytes_total") - before.get(
            "execmond_content_hashed_bytes_total") >= 100 << 20
        assert m.get("execmond_content_hash_unknown_total", reason="queue_full") == 0
    finally:
        done.set()
        scraper.join()
    assert slowest[0] < 2.0, f"a scrape took {slowest[0]:.2f} s during the storm"
    assert lost_events(m) == 0
    flagged = [k for k in m.samples if k[0] == "execmond_unexpected_execs_total" and
               dict(k[1])["path"].startswith(scratch)]
    assert not flagged, flagged


def test_without_read_capabilities_hashes_are_unknown(execmond_binary, daemon_factory,
                                                      true_exit, scratch, tmp_path):
    """Without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH the daemon cannot read a 0700
    binary of another user: its hash is unknown, said once in the log; the daemon goes
    on and the exec is still counted and judged."""
    wrapper = tmp_path / "execmond-without-dac"
    wrapper.write_text("#!/bin/sh\nexec setpriv --bounding-set -dac_override,-dac_read_search "
                       f"-- {execmond_binary} \"$@\"\n")
    wrapper.chmod(0o755)
    private = write_program(os.path.join(scratch, "private"), program(true_exit, "private"))
    os.chown(private, 1000, 1000)
    os.chmod(private, 0o700)
    from conftest import Daemon
    d = Daemon(str(wrapper), content_config(packaged=False), tmp_path).start()
    try:
        for _ in range(2):
            run([private])  # root may, with CAP_DAC_OVERRIDE
        m = d.wait_for(lambda m: sum(unexpected_of(m, private).values()) >= 2 and
                       m.get("execmond_content_hash_unknown_total", reason="no_access") >= 1,
                       timeout=TIMEOUT)
        assert unexpected_of(m, private) == {("private", "not_allowed"): 2}
        assert m.get("execmond_content_hash_unknown_total", reason="no_access") >= 1
        log = d.log.read_text()
        assert log.count("cannot read an executed file") == 1, log[-2000:]
        assert d.proc.poll() is None
    finally:
        d.stop()

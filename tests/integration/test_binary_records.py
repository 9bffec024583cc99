# SPDX-License-Identifier: Apache-2.0
"""The kernel's record of which file an exec ran, field by field, on real execs.

execmond_record_probe loads the programs with binaries judged, prints every exec and
binary record as JSON and writes verdicts on command, so that these tests see exactly
what the kernel sends, whatever the daemon makes of it. Every row of issue 13's table
that the kernel can see is here: a loader with its argv, a user namespace made by uid
1000, chroots, bind mounts and private filesystems in a user's mount namespace, an
overlay's upper and lower layers, binfmt_misc, scripts through symlinks and `..`, long
script paths, deleted files and memfds; and the verdict cache, keyed by view.

Each test execs copies of a static no-op under names of its own, in a directory of its
own, and matches records by those names and by pid.
"""

import ctypes
import json
import os
import platform
import queue
import subprocess
import threading
import time
import uuid

import pytest

from conftest import copy_executable

TIMEOUT = 20
UID = 1000  # an unprivileged user (no passwd entry needed: setpriv takes numbers)
AS_USER = ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups"]

# enum execmond_binary_flags
ALLOWED, UNEXPECTED, PENDING, RESOLVED = 1 << 0, 1 << 1, 1 << 2, 1 << 3
SCRIPT, DELETED, MEMFD, PATH_TRUNCATED = 1 << 4, 1 << 5, 1 << 6, 1 << 7
SCRIPT_TRUNCATED, UNREACHABLE, FS_PATH_TRUNCATED = 1 << 8, 1 << 9, 1 << 10
OVERLAY_UPPER, SCRIPT_SEEN, LOADER = 1 << 11, 1 << 12, 1 << 13
# enum execmond_context_flags
CTX_USERNS, CTX_USERNS_UNPRIVILEGED, CTX_MNTNS, CTX_CHROOT = 1, 2, 4, 8
CTX_CWD_TRUNCATED, CTX_ARGS_TRUNCATED = 16, 32
# enum execmond_verdict
V_ALLOWED, V_UNEXPECTED, V_LOADER, V_PENDING = 1, 2, 3, 4

EXECVEAT = {"x86_64": 322, "aarch64": 281}  # system call numbers
EXT4_MAGIC, TMPFS_MAGIC, OVERLAYFS_MAGIC = 0xEF53, 0x01021994, 0x794C7630


class RecordProbe:
    """execmond_record_probe, its records collected as they come."""

    def __init__(self, binary, log_path):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, bufsize=1)
        self.records = []
        self.acks = queue.Queue()
        self.changed = threading.Condition()
        self.commands = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = self.wait(lambda r: r["type"] == "ready", "the ready line")

    def _read(self):
        for line in self.proc.stdout:
            record = json.loads(line)
            if record["type"] in ("ack", "nack"):
                self.acks.put(record)
                continue
            with self.changed:
                self.records.append(record)
                self.changed.notify_all()

    def wait(self, predicate, what, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for record in self.records:
                    if predicate(record):
                        return record
                left = deadline - time.monotonic()
                assert left > 0 and self.proc.poll() is None, \
                    f"no record of {what}; probe log:\n{open(self.log.name).read()[-2000:]}"
                self.changed.wait(left)

    def command(self, text):
        self.commands += 1
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        ack = self.acks.get(timeout=TIMEOUT)
        assert ack == {"type": "ack", "line": self.commands}, (text, ack)

    def verdict(self, record, verdict):
        self.command(f"verdict {record['dev']} {record['ino']} {record['ctime_ns']} "
                     f"{record['view']} {verdict}")

    def binary(self, what, timeout=TIMEOUT, **fields):
        return self.wait(lambda r: r["type"] == "binary" and
                         all(r.get(k) == v for k, v in fields.items()), what, timeout)

    def exec_of(self, binary_record):
        """The exec record that follows a binary record: same pid and time."""
        return self.wait(lambda r: r["type"] == "exec" and r["pid"] == binary_record["pid"]
                         and r["timestamp_ns"] == binary_record["timestamp_ns"],
                         f"the exec of pid {binary_record['pid']}")

    def all(self, predicate):
        with self.changed:
            return [r for r in self.records if predicate(r)]

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.log.close()


@pytest.fixture
def probe(request, tmp_path):
    workload = os.path.abspath(request.config.getoption("--workload"))
    binary = os.path.join(os.path.dirname(workload), "execmond_record_probe")
    assert os.access(binary, os.X_OK), f"no {binary}: build the tests"
    p = RecordProbe(binary, tmp_path / "record_probe.log")
    yield p
    p.stop()


def unique(tag=""):
    return ("x" + uuid.uuid4().hex[:9] + tag)[:15]


def run(argv, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, **kwargs)
    assert result.returncode == 0, f"{argv} failed ({result.returncode}): {result.stderr}"
    return result.stdout


def run_pid(argv, **kwargs):
    """Runs argv; returns its pid."""
    process = subprocess.Popen(argv, **kwargs)
    assert process.wait(timeout=60) == 0
    return process.pid


def kernel_dev(st_dev):
    """dev_t as the kernel's s_dev encodes it (12 bits of major above 20 of minor)."""
    return (os.major(st_dev) << 20) | os.minor(st_dev)


def fs_magic(path):
    return int(run(["stat", "-f", "-c", "%t", path]).strip(), 16)


def mount_of(path):
    """(mount point, root inside its filesystem) of the mount `path` is on, from
    this process's mountinfo."""
    best = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            root, point = fields[3], fields[4]
            if path == point or path.startswith(point.rstrip("/") + "/"):
                if best is None or len(point) >= len(best[0]):
                    best = (point, root)
    return best


def fs_path_of(path):
    """The path of `path` inside its own filesystem: what the record's fs_path holds."""
    point, root = mount_of(path)
    rest = path[len(point.rstrip("/")):]
    return (root.rstrip("/") + rest) or "/"


def mntns_inode(pid="self"):
    return os.stat(f"/proc/{pid}/ns/mnt").st_ino


def check_identity(record, path):
    st = os.stat(path)
    assert record["ino"] == st.st_ino
    assert record["dev"] == kernel_dev(st.st_dev)
    assert record["ctime_ns"] == st.st_ctime_ns


def kernel_at_least(major, minor):
    numbers = platform.release().split("-")[0].split(".")
    return (int(numbers[0]), int(numbers[1])) >= (major, minor)


def test_an_exec_on_the_host_names_its_file_both_ways(probe, scratch, true_exit):
    """A plain exec: identity, both names, the file system, the context; the exec record
    follows, flagged RESOLVED; the kernel knows the host's mount namespace."""
    exe = copy_executable(true_exit, os.path.join(scratch, unique()))
    run([exe])
    b = probe.binary("the plain exec", path=exe)
    check_identity(b, exe)
    assert b["view"] == 0
    assert b["fs_path"] == fs_path_of(exe)
    assert b["fs_magic"] == fs_magic(exe)
    assert b["binary_flags"] == 0
    assert (b["euid"], b["egid"], b["userns_level"], b["userns_owner"]) == (0, 0, 0, 0)
    assert b["mntns"] == mntns_inode()
    assert b["ctx_flags"] == 0, b
    assert (b["ppid"], b["parent_comm"]) == (os.getpid(), open("/proc/self/comm").read().strip())
    assert b["script_path"] == "" and b["cwd"] == "" and b["args"] == []
    e = probe.exec_of(b)
    assert e["binary_flags"] == RESOLVED
    assert (e["ino"], e["dev"], e["ctime_ns"], e["view"]) == \
        (b["ino"], b["dev"], b["ctime_ns"], b["view"])


def test_verdicts_answer_execs_without_a_record(probe, scratch, true_exit):
    """ALLOWED, PENDING and UNEXPECTED: an exec record only, flagged, with the parent and
    ids for UNEXPECTED; LOADER: a record with argv and cwd but no path walk."""
    exe = copy_executable(true_exit, os.path.join(scratch, unique()))
    run([exe])
    first = probe.binary("the first exec", path=exe)
    for verdict, flag in ((V_ALLOWED, ALLOWED), (V_PENDING, PENDING), (V_UNEXPECTED, UNEXPECTED)):
        probe.verdict(first, verdict)
        pid = run_pid([exe])
        e = probe.wait(lambda r: r["type"] == "exec" and r["pid"] == pid, f"exec {pid}")
        assert e["binary_flags"] == flag, e
        assert (e["ino"], e["view"]) == (first["ino"], 0)
        assert not probe.all(lambda r: r["type"] == "binary" and r["pid"] == pid)
        if flag == UNEXPECTED:
            assert (e["ppid"], e["uid"]) == (os.getpid(), 0)
            assert e["parent_comm"] == open("/proc/self/comm").read().strip()
        else:
            assert (e["ppid"], e["parent_comm"]) == (0, "")

    probe.verdict(first, V_LOADER)
    marker = uuid.uuid4().hex
    run([exe, "one", "two words", marker], cwd=scratch)
    b = probe.binary("the loader-verdict exec", args=[exe, "one", "two words", marker])
    assert b["binary_flags"] == LOADER
    assert b["cwd"] == scratch
    assert b["path"] == "" and b["fs_path"] == ""
    assert probe.exec_of(b)["binary_flags"] == LOADER | RESOLVED


def test_a_verdict_is_never_found_from_another_view(probe, scratch, true_exit):
    """A verdict for the host's view is not found by the same file exec'd in a mount
    namespace root made (a rootful container's view), whose key is its namespace's."""
    exe = copy_executable(true_exit, os.path.join(scratch, unique()))
    run([exe])
    host = probe.binary("the host exec", path=exe)
    probe.verdict(host, V_ALLOWED)
    out = run(["unshare", "-m", "--propagation", "private", "sh", "-c",
               f'echo $$ $(stat -L -c %i /proc/self/ns/mnt); exec {exe}'])
    pid, mntns = map(int, out.split())
    b = probe.binary("the exec in another mount namespace", pid=pid, path=exe)
    assert b["view"] == mntns == b["mntns"] and mntns != mntns_inode()
    assert b["ctx_flags"] == CTX_MNTNS
    assert (b["ino"], b["dev"], b["ctime_ns"]) == (host["ino"], host["dev"], host["ctime_ns"])
    # And the host's own exec still finds its verdict.
    pid = run_pid([exe])
    e = probe.wait(lambda r: r["type"] == "exec" and r["pid"] == pid, "the host's exec")
    assert e["binary_flags"] == ALLOWED


def loader_path():
    for path in ("/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"):
        if os.path.exists(path):
            return path
    raise AssertionError("no dynamic loader found")


def test_a_loader_exec_carries_argv_and_cwd(probe, scratch):
    """Row 1: `ld.so /tmp/x/evil`. The first exec names the loader; with the LOADER
    verdict every exec sends argv (the first 1024 bytes, cut flagged) and the cwd."""
    loader = loader_path()
    marker = uuid.uuid4().hex
    run([loader, "/usr/bin/true", marker])
    b = probe.binary("the loader's first exec", path=os.path.realpath(loader))
    check_identity(b, loader)
    assert b["fs_path"] == fs_path_of(os.path.realpath(loader))
    probe.verdict(b, V_LOADER)
    try:
        run([loader, "/usr/bin/true", "an arg", marker], cwd=scratch)
        b = probe.binary("the loader exec", args=[loader, "/usr/bin/true", "an arg", marker])
        assert b["binary_flags"] == LOADER and b["cwd"] == scratch and b["ctx_flags"] == 0
        long_arg = "a" * 2000
        run([loader, "/usr/bin/true", long_arg], cwd=scratch)
        b = probe.wait(lambda r: r["type"] == "binary" and r["args"][:1] == [loader] and
                       r["args"][-1].startswith("a" * 900), "the loader exec with 2000 bytes")
        assert b["ctx_flags"] & CTX_ARGS_TRUNCATED
        assert len("\0".join(b["args"])) == 1024  # cut at the field's size
    finally:
        probe.command("clear")  # other tests' loader execs are their own


def test_an_unprivileged_user_namespace_is_recorded(probe, scratch, true_exit):
    """uid 1000 in `unshare -Ur`: level 1, owned by 1000, unprivileged, host view."""
    exe = copy_executable(true_exit, os.path.join(scratch, unique()))
    run(AS_USER + ["unshare", "-Ur", exe])
    b = probe.binary("the exec in a user namespace", path=exe)
    assert (b["userns_level"], b["userns_owner"], b["euid"], b["uid"]) == (1, UID, UID, UID)
    assert b["ctx_flags"] == CTX_USERNS | CTX_USERNS_UNPRIVILEGED, b
    assert b["view"] == 0
    check_identity(b, exe)


def make_root(scratch, true_exit, name):
    """scratch/root/usr/bin/NAME: a one-file root to chroot into."""
    os.makedirs(os.path.join(scratch, "root", "usr", "bin"))
    os.chmod(os.path.join(scratch, "root"), 0o755)
    return copy_executable(true_exit, os.path.join(scratch, "root", "usr", "bin", name))


def test_a_chroot_is_named_in_the_host_view(probe, scratch, true_exit):
    """Row 2: `unshare -Ur chroot /tmp/x/root /usr/bin/evil` as uid 1000, and root's own
    chroot: the process's path is /usr/bin/evil, the file's is under the root; both are
    judged in the host's view, under the same key as the file's exec from the host."""
    name = unique()
    inside = make_root(scratch, true_exit, name)
    run(AS_USER + ["unshare", "-Ur", "chroot", os.path.join(scratch, "root"), f"/usr/bin/{name}"])
    b = probe.binary("the user's chroot exec", comm=name, uid=UID)
    assert b["path"] == f"/usr/bin/{name}"
    assert b["fs_path"] == fs_path_of(inside)
    assert b["ctx_flags"] == CTX_USERNS | CTX_USERNS_UNPRIVILEGED | CTX_CHROOT, b
    assert b["view"] == 0
    check_identity(b, inside)

    run(["chroot", os.path.join(scratch, "root"), f"/usr/bin/{name}"])
    b = probe.binary("root's chroot exec", comm=name, uid=0)
    assert (b["path"], b["fs_path"], b["ctx_flags"], b["view"]) == \
        (f"/usr/bin/{name}", fs_path_of(inside), CTX_CHROOT, 0)
    run([inside])
    host = probe.binary("the host's exec", path=inside)
    assert (host["ino"], host["dev"], host["ctime_ns"], host["view"]) == \
        (b["ino"], b["dev"], b["ctime_ns"], b["view"])


def test_a_bind_mount_over_a_system_path_shows_the_real_file(probe, scratch, true_exit):
    """Row 3: `unshare -Urm`, the user's file bound over /usr/bin/true: the process sees
    /usr/bin/true, the record also names the file that runs inside its filesystem, and
    its identity is the user's file."""
    evil = copy_executable(true_exit, os.path.join(scratch, unique()))
    out = run(AS_USER + ["unshare", "-Urm", "sh", "-c",
                         f"mount --bind {evil} /usr/bin/true && echo $$ && exec /usr/bin/true"])
    b = probe.binary("the exec through the bind mount", pid=int(out), path="/usr/bin/true")
    assert b["path"] == "/usr/bin/true"
    assert b["fs_path"] == fs_path_of(evil)
    check_identity(b, evil)
    assert b["ctx_flags"] == CTX_USERNS | CTX_USERNS_UNPRIVILEGED | CTX_MNTNS, b
    assert b["view"] == 0


def test_a_private_tmpfs_has_a_superblock_the_host_cannot_see(probe, scratch, true_exit):
    """Row 4: a tmpfs mounted over /usr/local/sbin in a user's mount namespace: the file's
    device is that tmpfs's, its in-filesystem path /NAME; 46 tmpfs stacked there cut the
    process's path (flagged) but not the file's own."""
    name = unique()
    source = copy_executable(true_exit, os.path.join(scratch, "source"))
    out = run(AS_USER + ["unshare", "-Urm", "sh", "-c",
                         f"mount -t tmpfs t /usr/local/sbin && cp {source} /usr/local/sbin/{name}"
                         f" && echo $$ && exec /usr/local/sbin/{name}"])
    b = probe.binary("the exec from a private tmpfs", pid=int(out),
                     path=f"/usr/local/sbin/{name}")
    assert (b["path"], b["fs_path"], b["fs_magic"]) == \
        (f"/usr/local/sbin/{name}", f"/{name}", TMPFS_MAGIC)
    host_devices = {kernel_dev(os.stat(p).st_dev) for p in ("/", "/tmp", "/usr/local/sbin")}
    assert b["dev"] not in host_devices
    assert b["binary_flags"] == 0 and b["view"] == 0

    stack = "; ".join(["mount -t tmpfs t /usr/local/sbin"] * 46)
    out = run(AS_USER + ["unshare", "-Urm", "sh", "-c",
                         f"{stack}; cp {source} /usr/local/sbin/{name} && echo $$ && "
                         f"exec /usr/local/sbin/{name}"])
    b = probe.binary("the exec from 46 stacked tmpfs", pid=int(out), comm=name)
    assert b["binary_flags"] & PATH_TRUNCATED
    assert not b["binary_flags"] & FS_PATH_TRUNCATED
    assert b["fs_path"] == f"/{name}"


def test_an_overlay_file_says_which_layer_it_comes_from(probe, scratch, true_exit):
    """A file of the lower layer (the image) and one written into the merged directory
    (the upper layer): OVERLAY_UPPER only for the second, overlayfs's magic for both."""
    for d in ("lower", "upper", "work", "merged"):
        os.makedirs(os.path.join(scratch, d))
    lower_name, upper_name = unique("l"), unique("u")
    copy_executable(true_exit, os.path.join(scratch, "lower", lower_name))
    merged = os.path.join(scratch, "merged")
    out = run(["unshare", "-m", "--propagation", "private", "sh", "-c",
               f"mount -t overlay o -o lowerdir={scratch}/lower,upperdir={scratch}/upper,"
               f"workdir={scratch}/work {merged} && cp {true_exit} {merged}/{upper_name} && "
               f"{merged}/{lower_name} && {merged}/{upper_name} && "
               f"stat -L -c %i /proc/self/ns/mnt"])
    mntns = int(out)
    lower = probe.binary("the lower-layer exec", path=f"{merged}/{lower_name}")
    upper = probe.binary("the upper-layer exec", path=f"{merged}/{upper_name}")
    for b in (lower, upper):
        assert b["fs_magic"] == OVERLAYFS_MAGIC
        assert b["ctx_flags"] == CTX_MNTNS and b["view"] == mntns
    assert lower["fs_path"] == f"/{lower_name}" and upper["fs_path"] == f"/{upper_name}"
    assert not lower["binary_flags"] & OVERLAY_UPPER
    assert upper["binary_flags"] & OVERLAY_UPPER


def write_script(path, interpreter="/bin/sh"):
    with open(path, "w") as f:
        f.write(f"#!{interpreter}\nexit 0\n")
    os.chmod(path, 0o755)
    return path


def test_a_script_through_a_symlink_and_dotdot_keeps_the_callers_string(probe, scratch):
    """Row 6: the record keeps what the caller passed, unfolded (the kernel followed the
    symlink, a lexical fold would not), with the cwd when it is relative; the
    interpreter is what runs. With the hook, the script's own identity and path."""
    os.makedirs(os.path.join(scratch, "a", "b", "c"))
    os.makedirs(os.path.join(scratch, "real"))
    name = unique(".sh")
    script = write_script(os.path.join(scratch, "real", name))
    os.symlink(os.path.join(scratch, "a", "b", "c"), os.path.join(scratch, "L"))
    through = os.path.join(scratch, "L", "..", "..", "..", "real", name)
    relative = os.path.join(".", "L", "..", "..", "..", "real", name)
    hook = probe.ready["script_hook"] == 1

    def check_script(b):
        """The interpreter runs; the script is the kernel's file where the hook saw it."""
        assert b["binary_flags"] & SCRIPT and b["path"] == os.path.realpath("/bin/sh")
        check_identity(b, "/bin/sh")
        if hook:
            assert b["binary_flags"] & SCRIPT_SEEN
            assert b["script_path"] == fs_path_of(script)
            st = os.stat(script)
            assert (b["script_ino"], b["script_dev"], b["script_ctime_ns"], b["script_view"]) == \
                (st.st_ino, kernel_dev(st.st_dev), st.st_ctime_ns, 0)
        else:
            assert not b["binary_flags"] & SCRIPT_SEEN and b["script_ino"] == 0

    pid = run_pid([through])
    b = probe.binary("the script through the symlink", pid=pid)
    check_script(b)
    if not hook:
        assert (b["script_path"], b["cwd"]) == (through, "")
    pid = run_pid([relative], cwd=scratch)
    b = probe.binary("the relative script", pid=pid)
    check_script(b)
    if not hook:
        assert (b["script_path"], b["cwd"]) == (relative, scratch)

    # execveat(dirfd, "../real/NAME"): the kernel names it /dev/fd/N/../real/NAME (a
    # script needs the descriptor to survive the exec).
    code = ("import ctypes,os,sys; libc=ctypes.CDLL(None, use_errno=True); "
            "fd=os.open(sys.argv[1], os.O_PATH|os.O_DIRECTORY); os.set_inheritable(fd, True); "
            "argv=(ctypes.c_char_p*2)(b'x', None); envp=(ctypes.c_char_p*1)(None); "
            "libc.syscall(int(sys.argv[3]), fd, sys.argv[2].encode(), argv, envp, 0); "
            "sys.exit(ctypes.get_errno())")
    pid = run_pid(["/usr/bin/python3", "-c", code, os.path.join(scratch, "a"),
                   os.path.join("..", "real", name), str(EXECVEAT[platform.machine()])])
    b = probe.wait(lambda r: r["type"] == "binary" and r["pid"] == pid and
                   r["binary_flags"] & SCRIPT, "the execveat script")
    check_script(b)
    if not hook:
        assert b["script_path"].startswith("/dev/fd/")
        assert b["script_path"].endswith(f"/../real/{name}")


def padded_script_path(directory, name, length):
    """directory/././.../name of exactly `length` bytes (the same file)."""
    base = len(directory) + 1 + len(name)
    extra = length - base
    assert extra >= 0
    return directory + "/." * (extra // 2) + "/" * (extra % 2) + "/" + name


def test_script_paths_are_cut_at_1024_bytes_and_flagged(probe, scratch):
    """Row 7: a caller's string of 1023 bytes is whole; of 1024 or more it is cut and
    flagged, never a shorter path that looks whole."""
    name = unique(".sh")
    write_script(os.path.join(scratch, name))
    whole = padded_script_path(scratch, name, 1023)
    run([whole])
    b = probe.binary("the 1023-byte script", script_path=whole)
    assert not b["binary_flags"] & SCRIPT_TRUNCATED
    for length in (1024, 3000):
        cut = padded_script_path(scratch, name, length)
        run([cut])
        b = probe.binary(f"the {length}-byte script", script_path=cut[:1023])
        assert b["binary_flags"] & SCRIPT_TRUNCATED, length


def test_a_scripts_interpreter_is_recorded_as_what_runs(probe, scratch):
    """Row 8: a script whose interpreter is /tmp/x/interp: the record's file is the
    interpreter, whatever verdict the kernel holds for it (scripts always send one)."""
    interp = copy_executable("/bin/dash", os.path.join(scratch, unique("i")))
    script = write_script(os.path.join(scratch, unique(".sh")), interp)
    run([script])
    b = probe.binary("the script's record", script_path=script)
    assert b["path"] == interp and b["binary_flags"] & SCRIPT
    check_identity(b, interp)
    probe.verdict(b, V_ALLOWED)
    run([script])
    records = probe.wait(lambda r: r["type"] == "binary" and r["script_path"] == script and
                         r["pid"] != b["pid"], "the second run's record")
    assert records["path"] == interp
    assert probe.exec_of(records)["binary_flags"] & (RESOLVED | SCRIPT) == RESOLVED | SCRIPT


def test_binfmt_misc_names_the_handler_and_the_file_it_was_given(probe, scratch, true_exit):
    """Row 5: a binfmt_misc rule's handler runs: the record's file is the handler, the
    script path the file the caller named. Root's rule matches this test's extension
    only; where the kernel has binfmt_misc per user namespace (6.7), uid 1000's rule
    matches /usr/bin/true's own bytes."""
    handler = copy_executable(true_exit, os.path.join(scratch, unique("h")))
    ext = uuid.uuid4().hex[:8]
    target = os.path.join(scratch, f"data.{ext}")
    with open(target, "w") as f:
        f.write("not a program\n")
    os.chmod(target, 0o755)
    misc = "/proc/sys/fs/binfmt_misc"
    # The rule is the host's (removed at once), the mount only this namespace's.
    run(["unshare", "-m", "--propagation", "private", "sh", "-c",
         f"mount -t binfmt_misc none {misc} && "
         f"printf '%s' ':xr{ext}:E::{ext}::{handler}:' > {misc}/register && "
         f"{{ {target}; status=$?; echo -1 > {misc}/xr{ext}; exit $status; }}"])
    b = probe.binary("the binfmt_misc exec", script_path=target)
    assert b["path"] == handler and b["binary_flags"] & SCRIPT
    check_identity(b, handler)

    if not kernel_at_least(6, 7):
        return  # no binfmt_misc per user namespace before 6.7: root's rule above stands
    with open("/usr/bin/true", "rb") as f:
        header = f.read(18)  # ELF magic .. e_type: a static handler's e_type differs
    with open(true_exit, "rb") as f:
        assert f.read(18) != header
    magic = "".join(f"\\x{byte:02x}" for byte in header)
    out = run(AS_USER + ["unshare", "-Urm", "sh", "-c",
                         f"mount -t binfmt_misc none {misc} && "
                         f"printf '%s' ':xr:M::{magic}::{handler}:' > {misc}/register && "
                         "echo $$ && exec /usr/bin/true"])
    b = probe.binary("the user's binfmt_misc exec", pid=int(out), script_path="/usr/bin/true")
    assert (b["path"], b["script_path"]) == (handler, "/usr/bin/true")
    assert b["binary_flags"] & SCRIPT
    assert b["ctx_flags"] & CTX_USERNS_UNPRIVILEGED


def test_deleted_memfd_and_a_file_named_deleted_differ_by_flag(probe, scratch, true_exit):
    """A file really called "x (deleted)" is not DELETED; an unlinked one is (its
    fs_path without the suffix); a memfd is MEMFD, DELETED and UNREACHABLE."""
    named = copy_executable(true_exit, os.path.join(scratch, unique() + " (deleted)"))
    run([named])
    b = probe.binary("the file named (deleted)", path=named)
    assert b["binary_flags"] == 0

    gone = copy_executable(true_exit, os.path.join(scratch, unique("g")))
    code = ("import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.unlink(sys.argv[1]); "
            "os.execv('/proc/self/fd/%d' % fd, ['deleted'])")
    subprocess.run(["/usr/bin/python3", "-c", code, gone], check=True)
    b = probe.binary("the deleted file", path=gone + " (deleted)")
    assert b["binary_flags"] == DELETED and b["fs_path"] == fs_path_of(gone)

    memfd = unique("m")
    code = ("import os,sys; fd=os.memfd_create(sys.argv[1], 0); "
            "os.write(fd, open(sys.argv[2],'rb').read()); os.execve(fd, ['memfd'], {})")
    subprocess.run(["/usr/bin/python3", "-c", code, memfd, true_exit], check=True)
    b = probe.binary("the memfd", path=f"/memfd:{memfd} (deleted)")
    assert b["binary_flags"] == MEMFD | DELETED | UNREACHABLE
    assert b["fs_path"] == f"/memfd:{memfd}"

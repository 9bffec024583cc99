# SPDX-License-Identifier: Apache-2.0
"""Helpers for the tests of "judge the file the kernel ran, as the host sees it"
(issue 13): an unprivileged user, fresh owners for log budgets, series by reason,
logfmt lines read back."""

import os
import random
import re
import subprocess
import uuid

from conftest import copy_executable  # noqa: F401 (the tests import it from here)

UID = 1000  # an unprivileged user; setpriv takes numbers, no passwd entry needed
AS_USER = ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups"]
ALLOW = ["/usr/bin/*", "/usr/sbin/*", "/usr/lib/**", "/bin/*", "/sbin/*", "/lib64/*"]


def binaries_config(allow=ALLOW, extra=""):
    items = "".join(f'\n    - "{p}"' for p in allow)
    return f"binaries:\n  allow:{items}\n{extra}"


def unique(tag=""):
    return ("x" + uuid.uuid4().hex[:9] + tag)[:15]


def write_script(path, interpreter="/bin/sh", body="exit 0\n"):
    with open(path, "w") as f:
        f.write(f"#!{interpreter}\n{body}")
    os.chmod(path, 0o755)
    return path


def run(argv, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)
    assert result.returncode == 0, f"{argv} failed ({result.returncode}): {result.stderr}"
    return result.stdout


def series(metrics):
    """{(path, comm, reason): value} of execmond_unexpected_execs_total."""
    out = {}
    for (name, labels), value in metrics.samples.items():
        if name == "execmond_unexpected_execs_total":
            d = dict(labels)
            out[(d["path"], d["comm"], d["reason"])] = value
    return out


def by_path(metrics, path):
    """{reason: execs} of one path, summed over process names."""
    out = {}
    for (p, _, reason), value in series(metrics).items():
        if p == path:
            out[reason] = out.get(reason, 0) + value
    return out


def ours(metrics, prefix):
    return {k: v for k, v in series(metrics).items() if k[0].startswith(prefix)}


def unified_hierarchy():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[fields.index("-") + 1] == "cgroup2":
                return fields[4]
    raise AssertionError("no cgroup v2 hierarchy is mounted")


class FreshOwner:
    """A uid and a cgroup no other test shares: the log budgets of uids and cgroups are
    their own (the machine is shared; its root and its root cgroup are busy)."""

    def __init__(self):
        self.uid = random.randint(20000, 60000)
        self.cgroup = os.path.join(unified_hierarchy(), "execmond-test-" + uuid.uuid4().hex[:8])
        os.mkdir(self.cgroup)

    def argv(self, argv):
        inner = " ".join(shlex_quote(a) for a in argv)
        return ["sh", "-c", f"echo $$ > {self.cgroup}/cgroup.procs && exec setpriv "
                f"--reuid={self.uid} --regid={self.uid} --clear-groups {inner}"]

    def remove(self):
        for _ in range(50):
            try:
                os.rmdir(self.cgroup)
                return
            except OSError:
                import time
                time.sleep(0.1)


def shlex_quote(text):
    import shlex
    return shlex.quote(text)


def logfmt(line):
    """key=value pairs of one logfmt line, values unquoted and unescaped; fails on
    anything a logfmt reader would not accept."""
    fields, at = [], 0
    pattern = re.compile(r'([a-z_][a-z0-9_]*)=(?:"((?:[^"\\]|\\.)*)"|([^ "]*))( |$)')
    while at < len(line):
        m = pattern.match(line, at)
        assert m, f"not logfmt at {at}: {line[at:at + 80]!r}"
        key, quoted, bare = m.group(1), m.group(2), m.group(3)
        fields.append((key, unescape_logfmt(quoted) if quoted is not None else bare))
        at = m.end()
    return fields


def unescape_logfmt(text):
    out, i = bytearray(), 0
    simple = {"n": b"\n", "r": b"\r", "t": b"\t", '"': b'"', "\\": b"\\"}
    while i < len(text):
        if text[i] == "\\":
            c = text[i + 1]
            if c in simple:
                out += simple[c]
                i += 2
            else:
                assert c == "x", text
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
        else:
            out += text[i].encode()
            i += 1
    return out.decode("utf-8", "surrogateescape")


def unexpected_lines(log_text):
    """Every unexpected-exec log line, as a dict of its fields."""
    return [dict(logfmt(line)) for line in log_text.splitlines()
            if 'msg="unexpected exec"' in line]

#!/usr/bin/python3
"""Containers by one rule (issue 13 item 2, row 10), with Debian's podman and runc:

  - a rootful container (podman as root: its runtime runs as root in the initial user
    namespace) running an allowed path from its own image (/usr/bin/payload, a file no
    host path allows) raises nothing: it is judged by its path inside the container;
  - the same image's files run by an unprivileged user (uid 1000 in `unshare -Urm`,
    chrooted into the image's filesystem: what rootless podman does, which this host
    cannot run without subuid ranges) are judged by their host paths: unexpected.

Usage: identity_test.py EXECMOND TRUE_EXIT. As root, with podman and runc. Run it under
the heavy-suite lock (it builds an image). Exit 0 only if every check passed.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

from prometheus_client.parser import text_string_to_metric_families

PODMAN = ["podman", "--runtime", "runc"]
RUN_OPTIONS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096", "--network=none"]
AS_USER = ["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups"]
FAILED = []
PASSED = [0]


def check(what, ok, detail=""):
    print(("PASS: " if ok else "FAIL: ") + what + ("" if ok else f": {detail}"), flush=True)
    if ok:
        PASSED[0] += 1
    else:
        FAILED.append(what)


def run(argv, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{argv} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def series(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "execmond_unexpected_execs_total":
                labels = sample.labels
                out[(labels["path"], labels["comm"], labels["reason"])] = sample.value
    return out


def main(execmond, true_exit):
    work = tempfile.mkdtemp(prefix="xc", dir="/tmp")
    os.chmod(work, 0o755)
    image = f"localhost/execmond-identity:{uuid.uuid4().hex[:8]}"
    payload = "p" + uuid.uuid4().hex[:10]
    daemon = None
    try:
        context = os.path.join(work, "context")
        os.makedirs(context)
        shutil.copy(true_exit, os.path.join(context, payload))
        with open(os.path.join(context, "Containerfile"), "w") as f:
            f.write(f"FROM scratch\nCOPY {payload} /usr/bin/{payload}\n"
                    f"COPY {payload} /opt/{payload}\n")
        run(PODMAN + ["build", "-q", "-t", image, context])

        config = os.path.join(work, "execmond.yaml")
        with open(config, "w") as f:
            f.write('binaries:\n  allow: ["/usr/bin/*", "/usr/sbin/*", "/usr/lib/**", '
                    '"/usr/libexec/**", "/bin/*", "/sbin/*"]\n')
        port = free_port()
        log = open(os.path.join(work, "execmond.log"), "w")
        daemon = subprocess.Popen([execmond, "--config", config, "--listen", f"127.0.0.1:{port}"],
                                  stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while "ready:" not in open(log.name).read():
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("execmond did not start:\n" + open(log.name).read())
            time.sleep(0.1)

        # Rootful: the image's own path, allowed.
        name = f"execmond-identity-{uuid.uuid4().hex[:6]}"
        run(PODMAN + ["run", "--rm", "--name", name, *RUN_OPTIONS, image, f"/usr/bin/{payload}"])
        # And a path its image has outside the list: judged, in the container's view.
        run(PODMAN + ["run", "--rm", "--name", name + "o", *RUN_OPTIONS, image, f"/opt/{payload}"])
        # Rootless, as this host can do it: the image's files, a user's namespace.
        rootfs = os.path.join(work, "rootfs")
        os.makedirs(rootfs)
        run(["sh", "-c", f"cid=$({' '.join(PODMAN)} create {image} /x) && "
             f"{' '.join(PODMAN)} export $cid | tar -C {rootfs} -x && "
             f"{' '.join(PODMAN)} rm $cid >/dev/null"])
        user_payload = os.path.join(rootfs, "usr", "bin", payload)
        check("the image's file is in the exported root", os.path.exists(user_payload))
        run(AS_USER + ["unshare", "-Urm", "chroot", rootfs, f"/usr/bin/{payload}"])

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = {k: v for k, v in series(port).items() if payload in k[0] or k[1] == payload}
            if any(k[0] == user_payload for k in found) and \
                    any(k[0] == f"/opt/{payload}" for k in found):
                break
            time.sleep(0.2)
        check("the rootful container's exec of an allowed path from its image raises nothing",
              not any(k[0] == f"/usr/bin/{payload}" or "/containers/storage/" in k[0]
                      for k in found), found)
        check("the same image run by an unprivileged user is judged by the host's path",
              found.get((user_payload, payload, "not_allowed")) == 1, found)
        check("a path of its image outside the list is unexpected by its own path",
              found.get((f"/opt/{payload}", payload, "not_allowed")) == 1, found)
        text = open(log.name).read()
        check("that line says it was judged in the container's view",
              f'path="/opt/{payload}" reason="not_allowed" view="process"' in text
              and 'mntns="other"' in text, text[-3000:])
        check("its log line says so (view host, an unprivileged user namespace)",
              f'path="{user_payload}" reason="not_allowed" view="host"' in text
              and 'userns="unprivileged"' in text, text[-3000:])
    finally:
        if daemon and daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
        subprocess.run(PODMAN + ["rmi", "-f", image], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"container-identity: {PASSED[0]} passed, {len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("container-identity: needs root (podman as root, BPF)", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])))

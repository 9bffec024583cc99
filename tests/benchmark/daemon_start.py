# SPDX-License-Identifier: Apache-2.0
"""Starting an execmond for a benchmark: its configuration written, its log kept, and the
call returning once it says it is ready (or ending the benchmark with its log)."""

import os
import subprocess
import sys
import time


def start_daemon(binary, workdir, name, config_text, port):
    """execmond on 127.0.0.1:`port` with `config_text`, files named `name` in `workdir`."""
    config = os.path.join(workdir, f"{name}.yaml")
    with open(config, "w") as f:
        f.write(config_text)
    log = open(os.path.join(workdir, f"{name}.log"), "w+")
    proc = subprocess.Popen([binary, "--config", config, "--listen", f"127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log.seek(0)
        if "ready:" in log.read():
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    log.seek(0)
    sys.exit(f"execmond did not start:\n{log.read()}")

# SPDX-License-Identifier: Apache-2.0
"""The /metrics endpoint under hostile and careless clients, over TLS and basic auth.

A scrape must be answered within 2 s whatever other connections do: half-sent requests
(slowloris), idle connections, clients that never read their responses, more connections
than the server holds. TLS, basic auth and client certificates follow the Prometheus
exporter-toolkit web configuration.
"""

import base64
import http.client
import os
import resource
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import free_port, leaked_execmond_programs, require_tool
from endpoint_helpers import (SCRAPE_LIMIT_S, Flood, assert_all_answered_fast, bcrypt,
                              make_certificate, scrapes_during, timed_scrape)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def assert_scrapes_answered(d, count=5):
    for i in range(count):
        status, body, seconds = timed_scrape(d.port)
        assert status == 200 and b"execmond_build_info" in body
        assert seconds < SCRAPE_LIMIT_S, f"scrape {i} took {seconds:.2f} s"


def test_slowloris_idle_and_unread_connections_cannot_delay_a_scrape(daemon_factory):
    d = daemon_factory()
    held = []
    try:
        for _ in range(200):  # half a request each, never finished
            s = connect(d.port)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: slow")
            held.append(s)
        for _ in range(200):  # connected, silent
            held.append(connect(d.port))
        for _ in range(20):  # ask for many responses, read none of them
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(10)
            s.connect(("127.0.0.1", d.port))
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 100)
            held.append(s)
        time.sleep(0.5)
        assert_scrapes_answered(d)
    finally:
        for s in held:
            s.close()
    assert d.stop() == 0


def test_more_connections_than_the_table_holds_evict_the_oldest_incomplete(daemon_factory):
    """600 half-open connections against a table of 512: new ones evict the oldest
    incomplete ones, and scrapes still get in."""
    d = daemon_factory()
    held = []
    try:
        for _ in range(600):
            s = connect(d.port)
            s.sendall(b"GET / HTTP/1.1\r\n")
            held.append(s)
        time.sleep(0.5)
        assert_scrapes_answered(d)
        # The first connections were the oldest: the server closed them to make room.
        held[0].settimeout(2)
        assert held[0].recv(100) == b""
        held[-1].setblocking(False)
        with pytest.raises(BlockingIOError):
            held[-1].recv(100)  # the newest is still open, waiting for its request
        m = d.metrics()
        limit = m.get("execmond_http_connections_limit")
        assert limit == 512
        assert m.get("execmond_http_connections") <= limit
        assert m.get("execmond_http_connections_dropped_total", reason="evicted_incomplete") >= \
            600 - limit
    finally:
        for s in held:
            s.close()


def test_a_request_head_gets_a_few_seconds_not_more(daemon_factory):
    d = daemon_factory()
    s = connect(d.port)
    s.sendall(b"GET /metrics HTTP/1.1\r\n")
    start = time.monotonic()
    assert s.recv(100) == b""  # closed without an answer
    assert 4 < time.monotonic() - start < 8
    s.close()


def test_landing_page_not_found_head_and_methods(daemon_factory):
    d = daemon_factory()
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    conn.request("GET", "/")
    response = conn.getresponse()
    page = response.read().decode()
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/html")
    assert 'href="/metrics"' in page and "execmond" in page
    # The same connection is kept alive for the next requests.
    conn.request("GET", "/nope")
    response = conn.getresponse()
    assert response.status == 404 and response.read() == b"Not Found\n"
    for path in ("/", "/metrics"):
        conn.request("HEAD", path)
        response = conn.getresponse()
        assert response.status == 200 and int(response.getheader("Content-Length")) > 0
        assert response.read() == b""
    conn.request("POST", "/metrics")
    response = conn.getresponse()
    assert response.status == 405 and response.getheader("Allow") == "GET, HEAD"
    response.read()
    conn.request("GET", "/metrics?x=1", headers={"Accept-Encoding": "gzip"})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
    response.read()
    conn.close()
    # A body is refused (on GET it is a malformed request); an oversized head too.
    status, _, _ = timed_scrape(d.port, headers={"Content-Length": "3"})
    assert status == 400
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    conn.request("POST", "/metrics", body=b"abc")
    assert conn.getresponse().status == 413
    conn.close()
    status, _, _ = timed_scrape(d.port, headers={"X-Big": "a" * 9000})
    assert status == 431
    # prometheus-cpp's unprefixed exposer_* metrics are gone with civetweb.
    assert "exposer_" not in d.scrape()[0]


def https_scrape(port, context, user=None, password=None):
    headers = {}
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
    try:
        conn.request("GET", "/metrics", headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("WWW-Authenticate")
    finally:
        conn.close()


def test_tls_and_basic_auth(daemon_factory, execmond_binary, tmp_path):
    key, crt = make_certificate(tmp_path, "server")
    web = tmp_path / "web.yml"
    web.write_text(f"tls_server_config:\n  cert_file: {crt.name}\n  key_file: {key}\n"
                   f"basic_auth_users:\n  alice: {bcrypt('s3cret')}\n")
    check = subprocess.run([execmond_binary, "--check-config", "--web.config.file", str(web)],
                           capture_output=True, text=True)
    assert check.returncode == 0
    assert f"{web}: web configuration is valid: TLS, basic auth (1 user)" in check.stdout
    d = daemon_factory(args=["--web.config.file", str(web)])
    assert "TLS, basic auth (1 user)" in d.log.read_text()
    context = ssl.create_default_context(cafile=str(crt))

    status, body, _ = https_scrape(d.port, context, "alice", "s3cret")
    assert status == 200 and b"execmond_build_info" in body
    # Cached: the second request with the same credentials costs no bcrypt.
    assert https_scrape(d.port, context, "alice", "s3cret")[0] == 200
    for user, password in (("alice", "wrong"), ("bob", "s3cret"), (None, None)):
        status, body, challenge = https_scrape(d.port, context, user, password)
        assert status == 401 and b"execmond_" not in body
        assert challenge.startswith('Basic realm="execmond"')

    # Plain HTTP to the TLS port: no metrics, a plain answer saying TLS is needed.
    status, body, _ = timed_scrape(d.port)
    assert status == 400 and b"TLS" in body and b"execmond_" not in body
    status, body, _ = https_scrape(d.port, context, "alice", "s3cret")
    assert b'execmond_http_responses_total{code="401"} 3' in body

    # Handshakes that never finish hold nobody up, and end at their deadline.
    stalled = []
    for i in range(100):
        s = connect(d.port)
        if i % 2:
            s.sendall(b"\x16\x03\x01\x02\x00\x01")  # the start of a ClientHello
        stalled.append(s)
    start = time.monotonic()
    status, body, _ = https_scrape(d.port, context, "alice", "s3cret")
    assert status == 200 and time.monotonic() - start < SCRAPE_LIMIT_S
    stalled[0].settimeout(10)
    assert stalled[0].recv(100) == b""
    assert time.monotonic() - start < 8
    for s in stalled:
        s.close()


def test_a_flood_of_wrong_passwords_does_not_hold_up_scrapes(daemon_factory, tmp_path):
    """bcrypt is slow on purpose (cost 10: tens of ms a check). Checks run off the event
    loop, and a known-good password is checked once: the flood waits, the scrape does not."""
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users:\n  alice: '{bcrypt('s3cret', cost=10)}'\n")
    d = daemon_factory(args=["--web.config.file", str(web)])
    good = {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret").decode()}
    assert timed_scrape(d.port, headers=good)[0] == 200
    flood = []
    for i in range(200):
        s = connect(d.port)
        token = base64.b64encode(f"alice:wrong{i}".encode()).decode()
        s.sendall(f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {token}\r\n\r\n".encode())
        flood.append(s)
    for _ in range(5):
        status, body, seconds = timed_scrape(d.port, headers=good)
        assert status == 200 and b"execmond_build_info" in body
        assert seconds < SCRAPE_LIMIT_S
    answers = set()
    for s in flood:
        s.settimeout(10)
        answers.add(s.recv(12))
        s.close()
    # Checked and refused, turned away while too many checks were queued, or over the
    # address's allowance of new passwords.
    assert answers <= {b"HTTP/1.1 401", b"HTTP/1.1 429", b"HTTP/1.1 503"}
    assert b"HTTP/1.1 401" in answers and b"HTTP/1.1 429" in answers


def test_client_certificates_required_and_verified(daemon_factory, tmp_path):
    make_certificate(tmp_path, "ca")
    key, crt = make_certificate(tmp_path, "server")
    client_key, client_crt = make_certificate(tmp_path, "client", ca="ca")
    stranger_key, stranger_crt = make_certificate(tmp_path, "stranger")
    web = tmp_path / "web.yml"
    web.write_text(f"tls_server_config:\n  cert_file: {crt}\n  key_file: {key}\n"
                   f"  client_auth_type: RequireAndVerifyClientCert\n"
                   f"  client_ca_file: ca.crt\n  min_version: TLS13\n")
    d = daemon_factory(args=["--web.config.file", str(web)])

    def context(cert=None, cert_key=None):
        c = ssl.create_default_context(cafile=str(crt))
        if cert:
            c.load_cert_chain(str(cert), str(cert_key))
        return c

    status, body, _ = https_scrape(d.port, context(client_crt, client_key))
    assert status == 200 and b"execmond_build_info" in body
    for refused in (context(), context(stranger_crt, stranger_key)):
        with pytest.raises((ssl.SSLError, ConnectionError)):
            https_scrape(d.port, refused)
    # TLS 1.2 is below min_version.
    old = context(client_crt, client_key)
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises((ssl.SSLError, ConnectionError)):
        https_scrape(d.port, old)


BAD_WEB_CONFIGS = [
    ("tls_server_config:\n  cert_file: a.crt\n", ":1:1:", "key_file"),
    ("basic_auth_users:\n  alice: hunter2\n", ":2:10:", "bcrypt"),
    ("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  cipher_suites: [x]\n",
     ":4:3:", "not supported"),
    ("tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n", ":2:14:",
     "cannot read"),
]


@pytest.mark.parametrize("text,location,words", BAD_WEB_CONFIGS)
def test_bad_web_config_is_rejected_with_file_and_line(execmond_binary, tmp_path, text, location,
                                                       words):
    web = tmp_path / "web.yml"
    web.write_text(text)
    config = tmp_path / "execmond.yaml"
    config.write_text("web_config_file: web.yml\n")  # relative to the configuration file
    check = subprocess.run([execmond_binary, "--check-config", "--config", str(config)],
                           capture_output=True, text=True)
    assert check.returncode == 3
    assert f"{web}{location}" in check.stderr and words in check.stderr, check.stderr
    run = subprocess.run([execmond_binary, "--web.config.file", str(web), "--listen",
                          f"127.0.0.1:{free_port()}"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 3 and f"{web}{location}" in run.stderr, run.stderr
    missing = subprocess.run([execmond_binary, "--web.config.file", str(tmp_path / "none.yml")],
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode == 3 and "none.yml" in missing.stderr
    assert not leaked_execmond_programs()


def raw_exchange(port, data):
    """Sends `data` on a new connection; everything the server answers until it closes."""
    s = connect(port)
    try:
        s.sendall(data)
        received = b""
        while chunk := s.recv(65536):
            received += chunk
        return received
    finally:
        s.close()


@pytest.mark.parametrize("request_bytes", [
    b"GET /metrics HTTP/1.1\r\n\r\n",                                  # no Host
    b"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",            # two
    b"GET /metrics HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",                  # bare CR
    b"GET /metrics HTTP/1.1\nHost: a\r\n\r\n",                         # mixed endings
    b"GET /metrics HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n",             # control byte
    b"GET /metrics HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n",         # obs-fold
    b"GET /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
    b"GET ftp://a/metrics HTTP/1.1\r\nHost: a\r\n\r\n",
    b"G\xc3\x89T /metrics HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /met rics HTTP/1.1\r\nHost: a\r\n\r\n",
])
def test_requests_rfc_9112_forbids_get_400_and_no_metrics(daemon_factory, request_bytes):
    d = daemon_factory()
    answer = raw_exchange(d.port, request_bytes)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:100]
    assert b"Connection: close" in answer and b"execmond_" not in answer


@pytest.mark.parametrize("clients", [1, 10, 100])
def test_pipelining_clients_cannot_starve_scrapes(daemon_factory, clients):
    """Regression: one client pipelining cheap requests (256 KiB a write, answers read as
    fast as it can) held the event loop: 0 of 50 scrapes were answered during the flood.
    Each connection now gets a bounded share of each loop turn."""
    d = daemon_factory()
    with Flood("pipeline", d.port, clients) as flood:
        time.sleep(1)
        results = scrapes_during(d.port, 8)
        done = flood.stop()
    assert done["bytes_read"] > 1 << 20, done  # the flood was served too, only not first
    assert_all_answered_fast(results, f"{clients} pipelining clients")
    assert d.stop() == 0


def test_a_failed_event_loop_ends_the_daemon(daemon_factory):
    """Regression: a failed event loop returned silently; the daemon stayed "healthy",
    serving nothing. Now it exits 1, as a failed ring-buffer reader does."""
    d = daemon_factory("", env={"EXECMOND_INJECT_SERVER_FAULT_AFTER": "3"})
    for _ in range(3):
        try:
            timed_scrape(d.port, timeout=2)
        except (OSError, http.client.HTTPException):
            pass  # the third one fails with the loop
    assert d.proc.wait(timeout=15) == 1
    log = d.log.read_text()
    assert "the /metrics server failed (injected server fault)" in log, log
    assert "exiting so that the service manager restarts execmond" in log
    assert not leaked_execmond_programs()


def test_the_connection_table_follows_a_low_descriptor_limit(daemon_factory):
    """Regression: with a descriptor limit of 128 the table was 64 connections on top of
    the daemon's own ~30 descriptors, and accepts failed with EMFILE. It is now sized from
    what the limit leaves, and logged."""
    limit = 128
    d = daemon_factory("", preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                                (limit, limit)))
    log = d.log.read_text()
    line = next(l for l in log.splitlines() if "/metrics: at most" in l)
    table = int(line.split("at most ")[1].split()[0])
    in_use = int(line.split(", ")[-1].split()[0])
    assert f"descriptor limit {limit}" in line
    assert 8 <= table <= limit - in_use - 32 + 1, line
    held = []
    try:
        for _ in range(200):  # idle connections, more than the table
            held.append(connect(d.port))
        time.sleep(0.5)
        assert_scrapes_answered(d)
        m = d.metrics()
        assert m.get("execmond_http_connections_limit") == table
        assert m.get("execmond_http_connections") <= table
        assert m.get("execmond_http_connections_dropped_total", reason="evicted_incomplete") > 0
    finally:
        for s in held:
            s.close()
    assert "Too many open files" not in d.log.read_text()
    assert d.stop() == 0


def start_without_listen_override(execmond_binary, tmp_path, config_text):
    config = tmp_path / "execmond.yaml"
    config.write_text(config_text)
    log = tmp_path / "listen.log"
    proc = subprocess.Popen([execmond_binary, "--config", str(config)], stdout=open(log, "w"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while "ready:" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    return proc, config, log


def test_listen_moves_to_another_address_on_its_own_port(execmond_binary, tmp_path):
    """Regression: listen: "127.0.0.1:P" -> ":P" or "0.0.0.0:P" failed with "another
    process listens on this port" although the port was execmond's own."""
    port = free_port()
    proc, config, log = start_without_listen_override(execmond_binary, tmp_path,
                                                      f'listen: "127.0.0.1:{port}"\n')
    try:
        for listen in (f":{port}", f"0.0.0.0:{port}", f"127.0.0.1:{port}"):
            config.write_text(f'listen: "{listen}"\n')
            before = len(log.read_text())
            proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while "configuration reloaded" not in log.read_text()[before:] and \
                    "reload failed" not in log.read_text()[before:]:
                assert time.monotonic() < deadline, log.read_text()[before:]
                time.sleep(0.05)
            assert "reload failed" not in log.read_text()[before:], log.read_text()[before:]
            status, body, _ = timed_scrape(port)
            assert status == 200 and b"execmond_config_last_reload_successful 1" in body
        assert f"took port {port} over" in log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_a_port_in_use_names_its_holder(execmond_binary, daemon_factory):
    d = daemon_factory()
    other = subprocess.run([execmond_binary, "--listen", f"127.0.0.1:{d.port}"],
                           capture_output=True, text=True, timeout=30)
    assert other.returncode == 6
    assert f"port {d.port} is held by execmond (pid {d.proc.pid})" in other.stderr, other.stderr

"""The /metrics endpoint under hostile and careless clients, over TLS and basic auth.

A scrape must be answered within 2 s whatever other connections do: half-sent requests
(slowloris), idle connections, clients that never read their responses, more connections
than the server holds. TLS, basic auth and client certificates follow the Prometheus
exporter-toolkit web configuration.
"""

import base64
import http.client
import socket
import ssl
import subprocess
import time
import warnings

import pytest

with warnings.catch_warnings():
    # Deprecated, but in Debian 12's Python and the simplest way to make a bcrypt hash.
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

from conftest import free_port, leaked_execmond_programs, require_tool

SCRAPE_LIMIT_S = 2.0


def timed_scrape(port, path="/metrics", headers=None):
    """One scrape on a new connection: (status, body, seconds)."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, body, time.monotonic() - start
    finally:
        conn.close()


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


def make_certificate(tmp_path, name, ca=None):
    """A key and certificate for 127.0.0.1; self-signed, or signed by `ca` (a name)."""
    openssl = require_tool("openssl")
    key, crt = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
    if ca is None:
        subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    else:
        csr = tmp_path / f"{name}.csr"
        subprocess.run([openssl, "req", "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN={name}",
                        "-keyout", str(key), "-out", str(csr)], check=True, capture_output=True)
        subprocess.run([openssl, "x509", "-req", "-in", str(csr), "-days", "2",
                        "-CA", str(tmp_path / f"{ca}.crt"), "-CAkey", str(tmp_path / f"{ca}.key"),
                        "-CAcreateserial", "-out", str(crt)], check=True, capture_output=True)
    return key, crt


def bcrypt(password, cost=6):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2 ** cost))


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
    # Checked and refused, or turned away while too many checks were queued.
    assert answers <= {b"HTTP/1.1 401", b"HTTP/1.1 503"} and b"HTTP/1.1 401" in answers


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

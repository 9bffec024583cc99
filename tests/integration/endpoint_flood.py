#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile clients of /metrics, run as a process of their own beside the tests and the
scrape-load benchmark (so that the scrapes being measured do not share its interpreter).

    endpoint_flood.py MODE --port PORT [--clients N] [--source ADDRESS] [--seconds S]

MODE is one of:
  pipeline   each client pipelines "GET / HTTP/1.1" requests, 256 KiB per write, on one
             connection, and reads the answers as fast as it can
  slowread   each client asks for /metrics with a 4 KiB receive buffer and reads it a few
             KiB at a time, reconnecting when it is cut off
  password   each client sends requests with a wrong password, a new one each time, on a
             kept-alive connection, reconnecting when it is closed
  handshake  each client does full TLS handshakes (no session reuse) as fast as it can
Connections come from --source (default 127.0.0.2, another address than the scrapes being
measured), started --stagger seconds apart. Runs until SIGTERM or --seconds; then prints one line of JSON with what it did.
"""

import argparse
import base64
import errno
import json
import os
import selectors
import signal
import socket
import ssl
import sys
import threading
import time

PIPELINED = b"GET / HTTP/1.1\r\nHost: flood\r\n\r\n"
PIPELINE_WRITE = PIPELINED * (256 * 1024 // len(PIPELINED))
SLOW_READ_BYTES = 2048
SLOW_READ_PERIOD = 0.25

stopping = threading.Event()
stats = {"connections": 0, "connect_failures": 0, "requests": 0, "bytes_read": 0,
         "closed_by_server": 0,
         "handshakes": 0, "handshake_failures": 0, "statuses": {}}
stats_lock = threading.Lock()


def count(key, amount=1):
    with stats_lock:
        stats[key] += amount


def connect(port, source, receive_buffer=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    count("connections")
    return s


def count_statuses(data):
    for line in data.split(b"\r\n"):
        if line.startswith(b"HTTP/1.1 "):
            code = line[9:12].decode(errors="replace")
            with stats_lock:
                stats["statuses"][code] = stats["statuses"].get(code, 0) + 1


class Client:
    """One connection's state in the selector loop."""

    def __init__(self, port, source, mode, index):
        self.port, self.source, self.mode, self.index = port, source, mode, index
        self.sequence = 0
        self.sock = None
        self.pending = b""
        self.in_flight = False
        self.last_read = 0.0

    def open(self, selector):
        while True:
            try:
                self.sock = connect(self.port, self.source,
                                    receive_buffer=4096 if self.mode == "slowread" else None)
                break
            except OSError:
                count("connect_failures")
                if stopping.is_set():
                    return
                time.sleep(0.05)
        self.pending = b""
        self.in_flight = False
        if self.mode == "slowread":
            self.pending = b"GET /metrics HTTP/1.1\r\nHost: flood\r\n\r\n"
        selector.register(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, self)

    def reopen(self, selector):
        try:
            selector.unregister(self.sock)
        except (KeyError, ValueError):
            pass
        self.sock.close()
        count("closed_by_server")
        if not stopping.is_set():
            self.open(selector)

    def next_write(self):
        if self.mode == "pipeline":
            count("requests", len(PIPELINE_WRITE) // len(PIPELINED))
            return PIPELINE_WRITE
        if self.mode == "password" and not self.in_flight:
            # One request in flight at a time, as a scraper would.
            self.sequence += 1
            self.in_flight = True
            count("requests")
            token = base64.b64encode(f"alice:wrong-{self.index}-{self.sequence}".encode()).decode()
            return (f"GET /metrics HTTP/1.1\r\nHost: flood\r\nAuthorization: Basic {token}"
                    "\r\n\r\n").encode()
        return b""

    def on_event(self, selector, events):
        if events & selectors.EVENT_WRITE:
            if not self.pending:
                self.pending = self.next_write()
            if self.pending:
                try:
                    sent = self.sock.send(self.pending)
                    self.pending = self.pending[sent:]
                except BlockingIOError:
                    pass
                except OSError:
                    return self.reopen(selector)
        if events & selectors.EVENT_READ:
            if self.mode == "slowread":
                now = time.monotonic()
                if now - self.last_read < SLOW_READ_PERIOD:
                    return
                self.last_read = now
            try:
                data = self.sock.recv(SLOW_READ_BYTES if self.mode == "slowread" else 1 << 20)
            except BlockingIOError:
                return
            except OSError:
                return self.reopen(selector)
            if not data:
                return self.reopen(selector)
            count("bytes_read", len(data))
            if self.mode == "password":
                count_statuses(data)
                if b"HTTP/1.1 " in data:
                    self.in_flight = False
        # Watch for writability only with something to write: no spinning.
        wants_write = bool(self.pending) or self.mode == "pipeline" or (
            self.mode == "password" and not self.in_flight)
        wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if wants_write else 0)
        if selector.get_key(self.sock).events != wanted:
            selector.modify(self.sock, wanted, self)


def run_selector(args):
    selector = selectors.DefaultSelector()
    clients = [Client(args.port, args.source, args.mode, i) for i in range(args.clients)]
    waiting = list(clients)
    next_start = time.monotonic()
    while not stopping.is_set():
        # Started one by one --stagger apart: each joins another render.
        while waiting and time.monotonic() >= next_start:
            waiting.pop(0).open(selector)
            next_start += args.stagger
        for key, events in selector.select(timeout=0.05):
            key.data.on_event(selector, events)
        if args.mode == "slowread":
            # Only read on schedule: do not spin on a readable socket in between.
            time.sleep(0.01)


def handshake_loop(args, context):
    while not stopping.is_set():
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((args.source, 0))
            s.settimeout(10)
            s.connect(("127.0.0.1", args.port))
            count("connections")
            tls = context.wrap_socket(s, server_hostname="127.0.0.1")
            count("handshakes")
            tls.close()
        except (OSError, ssl.SSLError):
            count("handshake_failures")
            try:
                s.close()
            except OSError:
                pass
            time.sleep(0.001)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["pipeline", "slowread", "password", "handshake"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--source", default="127.0.0.2")
    parser.add_argument("--seconds", type=float, default=3600)
    parser.add_argument("--stagger", type=float, default=0.0,
                        help="seconds between the starts of two clients")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    timer = threading.Timer(args.seconds, stopping.set)
    timer.daemon = True
    timer.start()
    if args.mode == "handshake":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        threads = [threading.Thread(target=handshake_loop, args=(args, context))
                   for _ in range(args.clients)]
        for t in threads:
            t.start()
        while not stopping.is_set():
            stopping.wait(0.2)
        for t in threads:
            t.join()
    else:
        try:
            run_selector(args)
        except KeyboardInterrupt:
            pass
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()

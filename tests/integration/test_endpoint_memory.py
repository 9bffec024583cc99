# SPDX-License-Identifier: Apache-2.0
"""What clients that read slowly can make the daemon hold.

A render is shared (reference-counted) by the connections sending it; the renders held
for clients still receiving are bounded, the slowest senders of older renders cut off
(reset, so that the kernel drops what it queued for them too), each connection's kernel
send buffer is bounded, and memory goes back when they leave.
"""

import time

from endpoint_helpers import (Flood, QueueSampler, RssSampler, assert_all_answered_fast,
                              rss_bytes, scrapes_during, timed_scrape)

SLOW_CLIENTS = 100
NAMES = 1000  # the default max_comm_series: an exposition of about 1.5 MB


def fill_names(workload, count):
    names = [workload.name(f"{i:04d}") for i in range(count)]
    for start in range(0, count, 64):
        workload.run_parallel([(name, []) for name in names[start:start + 64]])


def test_slow_readers_cannot_grow_the_daemon(daemon_factory, workload, sanitized):
    """Regression: 60 clients that open /metrics with a 4 KiB receive buffer and read
    slowly, reconnecting as they are cut off, took the daemon from 51 MB to 406 MB RSS
    (393 MB still held after they left); at 1,000 names 215 MB sat in kernel send queues
    charged to the daemon."""
    d = daemon_factory("")
    fill_names(workload, NAMES)
    time.sleep(0.5)
    for _ in range(5):
        status, body, _ = timed_scrape(d.port)
    assert status == 200 and len(body) > 1_000_000, len(body)
    time.sleep(1)
    idle = rss_bytes(d.proc.pid)
    with RssSampler(d.proc.pid) as rss, QueueSampler(d.port) as queues, \
            Flood("slowread", d.port, SLOW_CLIENTS, stagger=0.1) as flood:
        results = scrapes_during(d.port, 15, interval=0.3)
        done = flood.stop()
    time.sleep(1)
    after = rss_bytes(d.proc.pid)
    print(f"{SLOW_CLIENTS} slow readers: RSS idle {idle / 1e6:.1f} MB, peak {rss.peak / 1e6:.1f} "
          f"MB ({rss.peak / idle:.2f}x), after {after / 1e6:.1f} MB; kernel send queues peak "
          f"{queues.peak / 1e6:.1f} MB; {done['connections']} connections")
    assert_all_answered_fast(results, f"scrapes beside {SLOW_CLIENTS} slow readers")
    # AddressSanitizer holds freed memory in quarantine on purpose: its RSS says nothing
    # about what is held for clients (the gauge below does).
    if not sanitized:
        assert rss.peak <= 1.25 * idle
        assert after <= 1.1 * idle
    # 100 connections at most 2 x SO_SNDBUF (128 KiB) each; it was up to 4 MiB each.
    assert queues.peak <= SLOW_CLIENTS * 256 * 1024 * 1.1
    m = d.metrics()
    assert m.get("execmond_http_connections_dropped_total", reason="slow_sender") > 0
    assert m.get("execmond_http_shared_render_responses_total") > 0
    assert m.get("execmond_http_response_bytes_held") <= \
        m.get("execmond_http_response_bytes_budget")
    assert d.stop() == 0

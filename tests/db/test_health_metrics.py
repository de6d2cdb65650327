"""Postal v3 health-server metrics: the text-format parser, and the scrape through a real loopback sshd."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from postaltop.config import DatabaseConfig
from postaltop.core import promtext
from postaltop.core.dbmetrics import queue_latency_text
from postaltop.engine import Engine
from postaltop.sources.db_runner import DbRunner
from postaltop.sources.health_metrics import (
    HealthMonitor,
    HostHealth,
    health_monitor,
    health_sample,
    parse_http_response,
)
from postaltop.sources.postal_db import PostalDbSource
from tests.support.postal_builder import Dataset
from tests.support.ssh_client import host_config, running_sshd, ssh_options
from tests.support.sshd import SshdServer, free_port

# The shape Postal's worker serves (prometheus-client for Ruby: floats with ".0", TYPE before HELP is fine).
WORKER_METRICS = """\
# TYPE postal_worker_job_executions counter
# HELP postal_worker_job_executions The number of jobs worked by a worker
postal_worker_job_executions{thread="work0",job="ProcessQueuedMessagesJob"} 1523.0
postal_worker_job_executions{thread="work1",job="ProcessQueuedMessagesJob"} 1498.0
# TYPE postal_worker_job_runtime histogram
# HELP postal_worker_job_runtime The time taken to process jobs
postal_worker_job_runtime_bucket{thread="work0",job="ProcessQueuedMessagesJob",le="0.5"} 1400.0
postal_worker_job_runtime_bucket{thread="work0",job="ProcessQueuedMessagesJob",le="+Inf"} 1523.0
postal_worker_job_runtime_sum{thread="work0",job="ProcessQueuedMessagesJob"} 402.5
postal_worker_job_runtime_count{thread="work0",job="ProcessQueuedMessagesJob"} 1523.0
# TYPE postal_worker_errors counter
# HELP postal_worker_errors The number of errors raised by jobs
postal_worker_errors{error="Net::ReadTimeout"} 3.0
# TYPE postal_message_queue_latency histogram
# HELP postal_message_queue_latency The length of time between a message being queued and being dequeued
postal_message_queue_latency_bucket{le="0.5"} 100.0
postal_message_queue_latency_bucket{le="1"} 180.0
postal_message_queue_latency_bucket{le="2"} 190.0
postal_message_queue_latency_bucket{le="5"} 198.0
postal_message_queue_latency_bucket{le="10"} 200.0
postal_message_queue_latency_bucket{le="+Inf"} 200.0
postal_message_queue_latency_sum 140.0
postal_message_queue_latency_count 200.0
"""

SMTP_METRICS = """\
# HELP postal_smtp_server_connections_total The number of connections made to the Postal SMTP server.
# TYPE postal_smtp_server_connections_total counter
postal_smtp_server_connections_total 8812.0
# HELP postal_smtp_server_client_errors The number of client errors
# TYPE postal_smtp_server_client_errors counter
postal_smtp_server_client_errors{error="invalid-credentials"} 41.0
postal_smtp_server_client_errors{error="server-suspended"} 2.0
# HELP postal_smtp_server_messages_total The number of messages accepted
# TYPE postal_smtp_server_messages_total counter
postal_smtp_server_messages_total{type="outgoing",tls="no"} 7010.0
postal_smtp_server_messages_total{type="bounce",tls="yes"} 31.0
# HELP postal_smtp_server_commands_total Commands received
# TYPE postal_smtp_server_commands_total counter
postal_smtp_server_commands_total{command="EHLO"} 8700.0
odd line that is not a sample
postal_smtp_server_exceptions_total{label="with \\"quote\\" and \\\\ and \\n"} 1e0
"""


def test_parser_reads_postal_shaped_metrics() -> None:
    scrape = promtext.parse(WORKER_METRICS)
    assert scrape.errors == []
    assert scrape.families["postal_message_queue_latency"].type == "histogram"
    assert len(scrape.families["postal_message_queue_latency"].samples) == 8
    assert scrape.value("postal_worker_job_executions") == 3021.0
    assert scrape.value("postal_worker_job_executions", thread="work1") == 1498.0
    hist = scrape.histogram("postal_message_queue_latency")
    assert hist is not None and hist.count == 200 and hist.mean == 0.7
    assert hist.buckets[-1] == (math.inf, 200.0)
    assert hist.quantile(0.5) == pytest.approx(0.5)  # rank 100 is the top of the first bucket
    assert hist.quantile(0.95) == pytest.approx(2.0)  # rank 190: the top of the (1, 2] bucket
    assert hist.quantile(0.99) == pytest.approx(2 + 3 * (198 - 190) / 8)
    smtp = promtext.parse(SMTP_METRICS)
    assert len(smtp.errors) == 1 and "line 15" in smtp.errors[0]
    assert smtp.value("postal_smtp_server_client_errors", error="invalid-credentials") == 41.0
    assert smtp.value("postal_smtp_server_messages_total", type="outgoing") == 7010.0
    (exc,) = smtp.samples("postal_smtp_server_exceptions_total")
    assert exc.label("label") == 'with "quote" and \\ and \n' and exc.value == 1.0
    assert promtext.parse_value("NaN") != promtext.parse_value("NaN")  # NaN
    with pytest.raises(promtext.PromParseError):
        promtext.parse_labels('{a="1",b=2}')


def test_latency_is_measured_between_scrapes_and_survives_resets() -> None:
    first = promtext.parse(WORKER_METRICS)
    sample, hist = health_sample("mx1", "worker", first, None, 100.0)
    assert sample.queue_latency_mean == 0.7 and sample.queue_latency_observations == 200
    later_text = WORKER_METRICS.replace('le="10"} 200.0', 'le="10"} 210.0')
    later_text = later_text.replace('le="+Inf"} 200.0', 'le="+Inf"} 210.0')
    later_text = later_text.replace("_sum 140.0", "_sum 220.0").replace("_count 200.0", "_count 210.0")
    later, _ = health_sample("mx1", "worker", promtext.parse(later_text), hist, 105.0)
    assert later.queue_latency_observations == 10
    assert later.queue_latency_mean == pytest.approx(8.0)  # ten slow messages: 80 s over 10
    assert later.queue_latency_p50 == pytest.approx(5 + 5 * 0.5)
    reset, _ = health_sample("mx1", "worker", first, promtext.parse(later_text).histogram(
        "postal_message_queue_latency"), 110.0)  # fmt: skip
    assert reset.queue_latency_observations == 200  # worker restarted: counts start again
    assert queue_latency_text([later]) == "mx1 8.0 s (p95 9.8 s)"  # rank 9.5 of 10 in (5, 10]: 9.75
    smtp, _ = health_sample("mx1", "smtp", promtext.parse(SMTP_METRICS), None, 1.0)
    assert ('postal_smtp_server_client_errors{error="invalid-credentials"}', 41.0) in smtp.counters
    assert smtp.queue_latency_mean is None


def test_http_response_parsing() -> None:
    status, headers, body = parse_http_response(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    assert (status, headers["content-type"], body) == (200, "text/plain", b"hello world")


# -- through a real sshd ---------------------------------------------------------------------------


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshdServer]:
    with running_sshd(tmp_path / "sshd") as server:
        yield server


@pytest.fixture
async def metrics_server() -> AsyncIterator[tuple[int, list[str]]]:
    """A plain HTTP server on loopback serving WORKER_METRICS at /metrics (Postal's health server)."""
    requests: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        line = head.split(b"\r\n", 1)[0].decode()
        requests.append(line)
        if line.startswith("GET /metrics "):
            body = WORKER_METRICS.encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n")
            writer.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        else:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, requests
    finally:
        server.close()
        await server.wait_closed()


async def test_scrape_through_ssh_to_the_hosts_loopback(
    sshd: SshdServer, metrics_server: tuple[int, list[str]]
) -> None:
    port, requests = metrics_server
    closed = free_port()  # nothing listens there: the SMTP health server is "not running"
    host = host_config(sshd)
    options = ssh_options(sshd)
    scraper = HostHealth(host, options, ports={"worker": port, "smtp": closed}, timeout=5.0)
    try:
        worker, smtp = await scraper.scrape()
        assert worker.ok and worker.component == "worker" and worker.queue_latency_mean == 0.7
        assert worker.queue_latency_observations == 200
        assert ('postal_worker_errors{error="Net::ReadTimeout"}', 3.0) in worker.counters
        assert not smtp.ok and f"127.0.0.1:{closed}" in (smtp.error or "")
        assert requests == ["GET /metrics HTTP/1.0"]
        # Same figures next time: no new observations in the interval, so the figures since start are shown.
        worker2, _ = await scraper.scrape()
        assert worker2.ok and worker2.queue_latency_observations == 0 and worker2.queue_latency_mean == 0.7
        assert len(requests) == 2
        # sshd goes away: reported, then recovered.
        sshd.stop()
        await scraper.close()
        down = await scraper.scrape()
        assert all(not s.ok and (s.error or "").startswith("ssh:") for s in down)
        sshd.start()
        worker3, _ = await scraper.scrape()
        assert worker3.ok
    finally:
        await scraper.close()
    monitor = health_monitor([host, host.model_copy(update={"name": "mx2", "metrics": False})], options)
    assert monitor is not None and [h.host_cfg.name for h in monitor.hosts] == ["mx1"]


@pytest.mark.mysql
async def test_db_runner_attaches_health_to_every_result(
    sshd: SshdServer, metrics_server: tuple[int, list[str]], db_config: DatabaseConfig, dataset: Dataset
) -> None:
    port, _requests = metrics_server
    host = host_config(sshd)
    options = ssh_options(sshd)
    monitor = HealthMonitor([HostHealth(host, options, ports={"worker": port})])
    engine = Engine(retained_lines=100)
    runner = DbRunner(PostalDbSource(db_config, environ={}), engine, health=monitor)
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(20):
            while not (engine.latest_metrics and engine.latest_metrics.health):
                await asyncio.sleep(0.05)
        latest = engine.latest_metrics
        assert latest.connected and latest.servers
        (worker,) = latest.health
        # 0.7 whether this is the first scrape or a later one with no new observations in between
        assert worker.ok and worker.host == "mx1" and worker.queue_latency_mean == 0.7
        assert queue_latency_text(latest.health) == "mx1 0.7 s (p95 2.0 s)"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

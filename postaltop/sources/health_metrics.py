"""Postal v3's health-server metrics, read through the SSH connection (nothing installed on the host).

Postal's worker serves ``/metrics`` on ``127.0.0.1:9090`` and its SMTP server on ``127.0.0.1:9091`` of the
host (facts §4). Over SSH we open a ``direct-tcpip`` channel to that address and send a plain HTTP/1.0
GET; the body is the Prometheus text format (:mod:`postaltop.core.promtext`). The worker's
``postal_message_queue_latency`` histogram gives the queue latency over each scrape interval.

The SSH connection is opened with :func:`postaltop.sources.ssh.connect` (strict host keys, jump hosts) and
kept open between scrapes; a failed scrape drops it and the next one reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence

from postaltop.config import HostConfig
from postaltop.core import promtext
from postaltop.core.dbmetrics import HealthSample
from postaltop.core.sanitize import display_text
from postaltop.sources import ssh

DEFAULT_PORTS: Mapping[str, int] = {"worker": 9090, "smtp": 9091}
"""Postal's default health-server ports on the host (worker, SMTP server)."""
QUEUE_LATENCY = "postal_message_queue_latency"
COUNTERS = (
    "postal_smtp_server_connections_total",
    "postal_smtp_server_messages_total",
    "postal_smtp_server_client_errors",
    "postal_smtp_server_exceptions_total",
    "postal_worker_errors",
)
"""Counters copied into :attr:`HealthSample.counters` when exposed."""
MAX_BODY = 4 * 1024 * 1024
"""Largest response read (the metrics page is a few KiB)."""


class HttpError(Exception):
    """The health server answered, but not with a usable metrics page."""


def parse_http_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Split a raw HTTP/1.x response into status, lower-cased headers and body (chunked decoded).

    Raises:
        HttpError: when the response is not HTTP.
    """
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    lines = head.decode("latin-1").splitlines()
    if not sep or not lines or not lines[0].startswith("HTTP/"):
        raise HttpError("not an HTTP response")
    parts = lines[0].split(None, 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        raise HttpError(f"bad status line {display_text(lines[0][:60])!r}") from None
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    return status, headers, body


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    pos = 0
    while pos < len(body):
        end = body.find(b"\r\n", pos)
        if end < 0:
            break
        try:
            size = int(body[pos:end].split(b";")[0], 16)
        except ValueError:
            raise HttpError("bad chunked encoding") from None
        if size == 0:
            break
        out += body[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2
    return bytes(out)


async def fetch_metrics(
    connection: ssh.HostConnection, port: int, *, path: str = "/metrics", timeout: float = 5.0
) -> str:
    """GET ``http://127.0.0.1:<port><path>`` on the SSH host through a direct-tcpip channel.

    Raises:
        HttpError: a non-200 answer or not HTTP.
        TimeoutError: no complete answer within ``timeout``.
        OSError / asyncssh.Error: the channel could not be opened (nothing listens there, forwarding refused).
    """
    async with asyncio.timeout(timeout):
        reader, writer = await connection.conn.open_connection("127.0.0.1", port)
        try:
            request = f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: text/plain\r\n\r\n"
            writer.write(request.encode("ascii"))
            writer.write_eof()
            data = bytearray()
            while chunk := await reader.read(65536):
                data += chunk
                if len(data) > MAX_BODY:
                    raise HttpError(f"response larger than {MAX_BODY} bytes")
        finally:
            writer.close()
    status, _headers, body = parse_http_response(bytes(data))
    if status != 200:
        raise HttpError(f"HTTP {status} from 127.0.0.1:{port}{path}")
    return body.decode("utf-8", "replace")


def health_sample(
    host: str,
    component: str,
    scrape: promtext.Scrape,
    previous: promtext.Histogram | None,
    now: float,
) -> tuple[HealthSample, promtext.Histogram | None]:
    """The sample of one scrape, and the latency histogram to diff the next scrape against."""
    histogram = scrape.histogram(QUEUE_LATENCY)
    mean = p50 = p95 = None
    observations = 0.0
    if histogram is not None:
        interval = histogram.since(previous) if previous is not None else histogram
        observations = interval.count
        # No message since the last scrape: show the figures since the process started rather than none
        # (``queue_latency_observations`` = 0 says the interval was empty).
        shown = interval if interval.count > 0 else histogram
        mean, p50, p95 = shown.mean, shown.quantile(0.5), shown.quantile(0.95)
    counters: list[tuple[str, float]] = []
    for name in COUNTERS:
        for sample in scrape.samples(name):
            labels = ",".join(f'{k}="{v}"' for k, v in sample.labels)
            counters.append((f"{name}{{{labels}}}" if labels else name, sample.value))
    return (
        HealthSample(
            host=host,
            component=component,
            fetched_at=now,
            ok=True,
            queue_latency_mean=mean,
            queue_latency_p50=p50,
            queue_latency_p95=p95,
            queue_latency_observations=observations,
            counters=tuple(counters),
        ),
        histogram,
    )


class HostHealth:
    """Scrapes one host's health servers over one kept-open SSH connection.

    Args:
        host_cfg: the host.
        options: SSH options.
        ports: component -> port on the host's loopback.
        timeout: seconds per scrape.
        clock: wall clock for ``fetched_at``.
    """

    def __init__(
        self,
        host_cfg: HostConfig,
        options: ssh.SshOptions,
        *,
        ports: Mapping[str, int] = DEFAULT_PORTS,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host_cfg = host_cfg
        self.options = options
        self.ports = dict(ports)
        self.timeout = timeout
        self._clock = clock
        self._connection: ssh.HostConnection | None = None
        self._histograms: dict[str, promtext.Histogram | None] = {}

    async def scrape(self) -> list[HealthSample]:
        """One sample per component (``ok=False`` with the reason when it could not be read)."""
        name = self.host_cfg.name
        try:
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncio.wait_for(
                    ssh.connect(self.host_cfg, self.options), self.timeout
                )
        except (ssh.SshError, TimeoutError, OSError) as exc:
            await self.close()
            reason = display_text(str(exc) or type(exc).__name__)
            return [HealthSample(name, comp, self._clock(), False, f"ssh: {reason}") for comp in self.ports]
        out = []
        for component, port in self.ports.items():
            try:
                text = await fetch_metrics(self._connection, port, timeout=self.timeout)
            except Exception as exc:
                reason = display_text(str(exc) or type(exc).__name__)[:200]
                out.append(HealthSample(name, component, self._clock(), False, f"127.0.0.1:{port}: {reason}"))
                if self._connection.is_closed():
                    await self.close()
                    break
                continue
            sample, histogram = health_sample(
                name, component, promtext.parse(text), self._histograms.get(component), self._clock()
            )
            self._histograms[component] = histogram
            out.append(sample)
        return out

    async def close(self) -> None:
        """Close the SSH connection (idempotent)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.wait_closed(), 2.0)


class HealthMonitor:
    """Every host with ``metrics = true``, scraped concurrently; :meth:`latest` holds the newest samples."""

    def __init__(self, hosts: Sequence[HostHealth]) -> None:
        self.hosts = list(hosts)
        self._latest: tuple[HealthSample, ...] = ()

    def latest(self) -> tuple[HealthSample, ...]:
        """The newest sample of every host and component."""
        return self._latest

    async def scrape_once(self) -> tuple[HealthSample, ...]:
        """Scrape every host now."""
        results = await asyncio.gather(*(h.scrape() for h in self.hosts))
        self._latest = tuple(sample for samples in results for sample in samples)
        return self._latest

    async def run(
        self, interval: float, on_result: Callable[[tuple[HealthSample, ...]], None] | None = None
    ) -> None:
        """Scrape every ``interval`` seconds forever (until cancelled)."""
        try:
            while True:
                started = time.monotonic()
                samples = await self.scrape_once()
                if on_result is not None:
                    on_result(samples)
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        finally:
            for host in self.hosts:
                await host.close()


def health_monitor(hosts: Sequence[HostConfig], options: ssh.SshOptions) -> HealthMonitor | None:
    """A monitor of the hosts whose ``metrics`` is on; None when there is none."""
    chosen = [HostHealth(h, options) for h in hosts if h.metrics]
    return HealthMonitor(chosen) if chosen else None

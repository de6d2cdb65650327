"""Prometheus exposition of what postaltop sees, on its own registry (never the process-global one).

The exporter keeps plain counters and the latest poll result on the event loop;
:meth:`MetricsExporter.collect` (called by prometheus-client's HTTP thread at scrape time)
reads an immutable snapshot that the loop swaps in with one assignment,
so a scrape never sees a half-updated state.

Naming follows Prometheus conventions: the ``postaltop_`` prefix, ``_total`` counters, base units (seconds,
ratios 0-1). Label values are bounded: servers and credentials come from Postal's configuration, recipient
domains are limited to each server's top-N (the rest are counted as ``other``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from postaltop.core.dbmetrics import PollResult
from postaltop.core.ingest import IngestResult
from postaltop.core.source_state import CONDITIONS, condition

UP_STATES = ("live", "demo", "replay", "connected", "ok")
"""Host state prefixes that count as up."""

DELIVERY_STATUSES = ("sent", "soft_fail", "hard_fail", "held", "bounced")


@dataclass(frozen=True, slots=True)
class _Snapshot:
    families: tuple[Metric, ...]


class MetricsExporter(Collector):
    """Collects postaltop's metrics from an engine (and the alert/notify state) for Prometheus.

    Args:
        engine: the pipeline (``hosts``, ``pending``, ``on_facts``, ``on_metrics``).
        top_domains: recipient domains kept as labels per server.
        top_credentials: credentials kept as labels per server.
        clock: wall clock (default: the engine's).
    """

    def __init__(
        self,
        engine: Any,
        *,
        top_domains: int = 10,
        top_credentials: int = 20,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.engine = engine
        self.registry = CollectorRegistry(auto_describe=False)
        self.top_domains = top_domains
        self.top_credentials = top_credentials
        self.clock: Callable[[], float] = clock if clock is not None else getattr(engine, "clock", time.time)
        self.facts: dict[str, int] = {}
        self.deliveries: dict[tuple[str, str], int] = {}
        self.messages: dict[tuple[str, str], int] = {}
        self.spam: dict[str, int] = {}
        self.credential_messages: dict[tuple[str, str], int] = {}
        self.domain_messages: dict[tuple[str, str], int] = {}
        self._domain_labels: dict[str, set[str]] = {}
        self._credential_labels: dict[str, set[str]] = {}
        self.polls = 0
        self.alerts_open: dict[str, int] = {}
        self.notifications: Callable[[], dict[tuple[str, str], int]] | None = None
        self._snapshot = _Snapshot(())
        self._unsubscribe: list[Callable[[], None]] = []
        self._server: Any = None
        self._thread: Any = None
        self.registry.register(self)

    # -- feeding (event loop) -------------------------------------------------------------

    def attach(self) -> None:
        """Subscribe to the engine's facts and metrics."""
        self._unsubscribe.append(self.engine.on_facts(self.on_facts))
        self._unsubscribe.append(self.engine.on_metrics(self.on_metrics))

    def on_facts(self, result: IngestResult) -> None:
        """Count facts by kind (a few dozen fixed kinds: bounded)."""
        for fact in result.facts:
            name = type(fact).__name__
            self.facts[name] = self.facts.get(name, 0) + 1

    def on_metrics(self, result: PollResult) -> None:
        """Fold one poll cycle into the counters (id windows never overlap, so their sums are counters)."""
        self.polls += 1
        names = {s.id: s.full_permalink for s in result.servers}
        for sample in result.samples:
            if sample.stale:
                continue
            server = names.get(sample.server_id, f"#{sample.server_id}")
            counts = sample.counts
            for status in DELIVERY_STATUSES:
                _add(self.deliveries, (server, status), getattr(counts, status))
            _add(self.messages, (server, "outgoing"), counts.outgoing)
            _add(self.messages, (server, "incoming"), counts.incoming)
            self.spam[server] = self.spam.get(server, 0) + counts.spam
        for cred in result.credentials:
            server = names.get(cred.server_id, f"#{cred.server_id}")
            label = _bounded(
                self._credential_labels.setdefault(server, set()), cred.name, self.top_credentials
            )
            _add(self.credential_messages, (server, label), cred.count)
        for dom in result.domains:
            server = names.get(dom.server_id, f"#{dom.server_id}")
            label = _bounded(self._domain_labels.setdefault(server, set()), dom.domain, self.top_domains)
            _add(self.domain_messages, (server, label), dom.count)

    def set_alerts(self, open_by_severity: dict[str, int]) -> None:
        """The number of open (firing) alerts per severity."""
        self.alerts_open = dict(open_by_severity)

    def refresh(self) -> None:
        """Rebuild the snapshot served to scrapes (call every second or so, and after changes)."""
        self._snapshot = _Snapshot(tuple(self._build()))

    # -- exposition (scrape thread) ---------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        """The current snapshot's families."""
        return iter(self._snapshot.families)

    def serve(self, address: str) -> tuple[str, int]:
        """Serve ``/metrics`` on ``host:port`` in a daemon thread; returns the bound address.

        Raises:
            ValueError: for a malformed address. OSError: when the port cannot be bound.
        """
        from prometheus_client import start_http_server

        host, port = parse_address(address)
        self.refresh()
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        bound = self._server.server_address
        return str(bound[0]), int(bound[1])

    def close(self) -> None:
        """Stop serving and unsubscribe."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> Iterable[Metric]:
        now = self.clock()
        engine = self.engine
        lines = CounterMetricFamily(
            "postaltop_lines_ingested", "Log lines ingested, per host.", labels=["host"]
        )
        up = GaugeMetricFamily(
            "postaltop_host_up", "1 when the host's log stream is connected.", labels=["host"]
        )
        lag = GaugeMetricFamily(
            "postaltop_ingest_lag_seconds", "Seconds since the host's last ingested line.", labels=["host"]
        )
        source = GaugeMetricFamily(
            "postaltop_source_condition",
            "1 for the source's current condition (up, connecting, stalled, refused, auth-failed, host-key, "
            "missing-message-db, degraded, down).",
            labels=["source", "condition"],
        )
        for name, status in sorted(engine.hosts.items()):
            lines.add_metric([name], float(status.lines))
            up.add_metric([name], 1.0 if status.state.startswith(UP_STATES) else 0.0)
            current = condition(status.state)
            for known in CONDITIONS:
                source.add_metric([name, known], 1.0 if known == current else 0.0)
            if status.last_line_at is not None:
                lag.add_metric([name], max(0.0, now - status.last_line_at))
        yield lines
        yield up
        yield lag
        yield source
        yield GaugeMetricFamily(
            "postaltop_ingest_queue_batches",
            "Line batches waiting to be ingested.",
            value=float(engine.pending),
        )
        facts = CounterMetricFamily(
            "postaltop_facts", "Recognised Postal log facts, per kind.", labels=["kind"]
        )
        for kind, count in sorted(self.facts.items()):
            facts.add_metric([kind], float(count))
        yield facts
        yield from self._build_db(now)
        alerts = GaugeMetricFamily(
            "postaltop_alerts_open", "Firing alerts, per severity.", labels=["severity"]
        )
        for severity in ("warning", "critical"):
            alerts.add_metric([severity], float(self.alerts_open.get(severity, 0)))
        yield alerts
        if self.notifications is not None:
            sent = CounterMetricFamily(
                "postaltop_notifications",
                "Notification deliveries, per channel and outcome.",
                labels=["channel", "outcome"],
            )
            for (channel, outcome), count in sorted(self.notifications().items()):
                sent.add_metric([channel, outcome], float(count))
            yield sent

    def _build_db(self, now: float) -> Iterable[Metric]:
        latest: PollResult | None = self.engine.latest_metrics
        yield GaugeMetricFamily(
            "postaltop_database_up",
            "1 when the last poll of Postal's database succeeded.",
            value=1.0 if latest is not None and latest.connected else 0.0,
        )
        yield CounterMetricFamily(
            "postaltop_database_polls", "Poll cycles completed.", value=float(self.polls)
        )
        deliveries = CounterMetricFamily(
            "postaltop_server_deliveries",
            "Outgoing deliveries, per server and status.",
            labels=["server", "status"],
        )
        for (server, status), count in sorted(self.deliveries.items()):
            deliveries.add_metric([server, status], float(count))
        yield deliveries
        messages = CounterMetricFamily(
            "postaltop_server_messages",
            "New messages, per server and direction.",
            labels=["server", "direction"],
        )
        for (server, direction), count in sorted(self.messages.items()):
            messages.add_metric([server, direction], float(count))
        yield messages
        spam = CounterMetricFamily(
            "postaltop_server_spam_deliveries", "Deliveries of spam-flagged messages.", labels=["server"]
        )
        for server, count in sorted(self.spam.items()):
            spam.add_metric([server], float(count))
        yield spam
        creds = CounterMetricFamily(
            "postaltop_credential_messages",
            "Messages submitted per credential (top credentials per server; the rest as 'other').",
            labels=["server", "credential"],
        )
        for (server, cred), count in sorted(self.credential_messages.items()):
            creds.add_metric([server, cred], float(count))
        yield creds
        domains = CounterMetricFamily(
            "postaltop_recipient_domain_messages",
            "Outgoing messages per recipient domain (top-N domains per server; the rest as 'other').",
            labels=["server", "domain"],
        )
        for (server, domain), count in sorted(self.domain_messages.items()):
            domains.add_metric([server, domain], float(count))
        yield domains
        yield from self._build_gauges(latest)

    def _build_gauges(self, latest: PollResult | None) -> Iterable[Metric]:
        families = _server_gauges()
        sent_rate, out_rate, bounce, spam, queue, oldest, held, limit, stale = families
        if latest is not None:
            names = {s.id: s.full_permalink for s in latest.servers}
            for sample in latest.samples:
                server = [names.get(sample.server_id, f"#{sample.server_id}")]
                c = sample.counts
                window = sample.window_seconds
                total = c.sent + c.soft_fail + c.hard_fail + c.held + c.bounced
                sent_rate.add_metric(server, c.sent / window if window > 0 else 0.0)
                out_rate.add_metric(server, c.outgoing / window if window > 0 else 0.0)
                bounce.add_metric(server, (c.bounced + c.hard_fail) / total if total else 0.0)
                spam.add_metric(server, c.spam / total if total else 0.0)
                for state, value in (
                    ("ready", sample.queue_ready),
                    ("retrying", sample.queue_retrying),
                    ("locked", sample.queue_locked),
                    ("all", sample.queue_depth),
                ):
                    queue.add_metric([server[0], state], float(value))
                if sample.oldest_queued_age is not None:
                    oldest.add_metric(server, sample.oldest_queued_age)
                held.add_metric(server, float(sample.held_total))
                if sample.send_limit_usage_pct is not None:
                    limit.add_metric(server, sample.send_limit_usage_pct / 100.0)
                stale.add_metric(server, 1.0 if sample.stale else 0.0)
        yield from families


def _server_gauges() -> tuple[GaugeMetricFamily, ...]:
    """The per-server gauges, empty: rates, ratios, queue, oldest queued, held, send-limit usage, stale."""
    labels = ["server"]
    sent_rate = GaugeMetricFamily(
        "postaltop_server_sent_per_second", "Deliveries sent per second, last poll window.", labels=labels
    )
    out_rate = GaugeMetricFamily(
        "postaltop_server_outgoing_messages_per_second",
        "New outgoing messages per second, last poll window.",
        labels=labels,
    )
    bounce = GaugeMetricFamily(
        "postaltop_server_bounce_ratio",
        "Bounced and hard-failed deliveries over all deliveries, last poll window (0-1).",
        labels=labels,
    )
    spam = GaugeMetricFamily(
        "postaltop_server_spam_ratio",
        "Spam-flagged deliveries over all deliveries, last poll window (0-1).",
        labels=labels,
    )
    queue = GaugeMetricFamily(
        "postaltop_server_queue_messages", "Messages in Postal's queue.", labels=["server", "state"]
    )
    oldest = GaugeMetricFamily(
        "postaltop_server_queue_oldest_age_seconds", "Age of the oldest queued message.", labels=labels
    )
    held = GaugeMetricFamily("postaltop_server_held_messages", "Messages currently held.", labels=labels)
    limit = GaugeMetricFamily(
        "postaltop_server_send_limit_usage_ratio",
        "Last-hour outgoing volume over the send limit (0-1+; absent without a limit).",
        labels=labels,
    )
    stale = GaugeMetricFamily(
        "postaltop_server_stale",
        "1 when the server's figures could not be read this cycle.",
        labels=labels,
    )
    return (sent_rate, out_rate, bounce, spam, queue, oldest, held, limit, stale)


def _add(table: dict[tuple[str, str], int], key: tuple[str, str], n: int) -> None:
    if n:
        table[key] = table.get(key, 0) + n


def _bounded(seen: set[str], value: str, limit: int) -> str:
    """``value`` while fewer than ``limit`` distinct values were labelled, else ``other``."""
    if value in seen:
        return value
    if len(seen) < limit:
        seen.add(value)
        return value
    return "other"


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6) -> (host, port).

    Raises:
        ValueError: when it is not of that form or the port is out of range.
    """
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"expected HOST:PORT, not {address!r}")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError(f"port out of range in {address!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, port

"""What a review's evidence is computed from, and the adapters that fill it.

* the retained log lines (a :class:`~postaltop.core.logstore.LogStore`) and the facts extracted from them;
* sending figures per time bucket (from database poll results, from the simulator's message-database
  counters in the demo, or, lacking both, from the log lines' ``Sending message`` facts);
* the hosts' Postal versions and, when available, the alerts raised during the window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from postaltop.core.dbmetrics import HistoryPoint, PollResult
from postaltop.core.facts import Fact, SendingMessage
from postaltop.core.logstore import LogStore
from postaltop.core.review.countries import RecipientMix
from postaltop.core.review.window import Window
from postaltop.core.sim.model import Counters, Installation
from postaltop.core.versions import HostVersion


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert raised during the window (from the alerting engine, when present)."""

    ts: float
    severity: str
    title: str
    detail: str = ""
    kind: str = ""
    """The detector (``auth_burst``, ``zscore``, ``ratio:bounce`` …)."""


@dataclass(slots=True)
class SendingFigures:
    """Outgoing messages per bucket and totals per credential and recipient domain."""

    source: str
    """Where the figures come from, said in the report (``database polls``, ``log lines`` …)."""
    start: float
    bucket_seconds: float
    servers: dict[str, list[int]] = field(default_factory=dict)
    """``org/server`` -> outgoing messages per bucket."""
    credentials: dict[str, int] = field(default_factory=dict)
    """``org/server · credential name`` -> outgoing messages in the window."""
    domains: dict[str, int] = field(default_factory=dict)
    """Recipient domain -> outgoing messages in the window."""
    bounced: dict[str, int] = field(default_factory=dict)
    """``org/server`` -> bounces in the window (when the source knows them)."""


@dataclass(slots=True)
class ReviewInput:
    """Everything the evidence of every step is computed from."""

    window: Window
    store: LogStore
    facts: Sequence[Fact]
    hosts: Sequence[str] = ()
    figures: SendingFigures | None = None
    versions: Sequence[HostVersion] = ()
    alerts: Sequence[AlertRecord] | None = None
    """None when no alerting engine is available (the sending step then says so)."""
    top: int = 10
    """Rows per table."""
    recipients: RecipientMix | None = None
    """Recipient domains per server and credential, in the window and a baseline (the country mix)."""
    sample_lines: int = 40
    """Log lines kept per step."""
    note: str = ""
    """A caveat about the lines themselves (a sampled demo window), shown with every step that counts them."""


def bucket_size(window: Window) -> float:
    """Chart bucket for a window: an hour up to 2 days, 6 hours up to 2 weeks, else a day."""
    if window.seconds <= 2 * 86400:
        return 3600.0 if window.seconds > 6 * 3600 else 600.0
    return 6 * 3600.0 if window.seconds <= 14 * 86400 else 86400.0


def bucket_count(window: Window, size: float) -> int:
    """Buckets covering the window."""
    return max(1, int(-(-window.seconds // size)))


def figures_from_counters(counters: Counters, installation: Installation, window: Window) -> SendingFigures:
    """Sending figures from the simulator's per-minute message-database counters (the demo)."""
    size = bucket_size(window)
    n = bucket_count(window, size)
    names = {s.id: s.full_permalink for s in installation.servers}
    creds = {c.id: f"{names[c.server_id]} · {c.name}" for c in installation.credentials}
    figures = SendingFigures("simulated message databases", window.start, size)
    for name in names.values():
        figures.servers[name] = [0] * n
    for bucket in counters.window(window.start, window.end):
        i = min(n - 1, int((bucket.minute - window.start) // size))
        for server_id, tally in bucket.servers.items():
            name = names.get(server_id, str(server_id))
            figures.servers.setdefault(name, [0] * n)[i] += tally.outgoing
            if tally.bounced:
                figures.bounced[name] = figures.bounced.get(name, 0) + tally.bounced
        for cred_id, tally in bucket.credentials.items():
            if tally.outgoing:
                key = creds.get(cred_id, f"credential {cred_id}")
                figures.credentials[key] = figures.credentials.get(key, 0) + tally.outgoing
        for (_, domain), tally in bucket.domains.items():
            if tally.outgoing:
                figures.domains[domain] = figures.domains.get(domain, 0) + tally.outgoing
    return figures


def figures_from_polls(polls: Iterable[PollResult], window: Window) -> SendingFigures | None:
    """Sending figures from database poll results inside the window (None when there are none)."""
    size = bucket_size(window)
    n = bucket_count(window, size)
    figures = SendingFigures("database polls", window.start, size)
    seen = False
    for poll in polls:
        names = {s.id: s.full_permalink for s in poll.servers}
        for sample in poll.samples:
            if sample.stale or not window.contains(sample.sampled_at):
                continue
            seen = True
            i = min(n - 1, int((sample.sampled_at - window.start) // size))
            name = names.get(sample.server_id, f"server {sample.server_id}")
            figures.servers.setdefault(name, [0] * n)[i] += sample.counts.outgoing
            if sample.counts.bounced:
                figures.bounced[name] = figures.bounced.get(name, 0) + sample.counts.bounced
        if not window.contains(poll.started_at):
            continue
        for cred in poll.credentials:
            key = f"{names.get(cred.server_id, cred.server_id)} · {cred.name}"
            figures.credentials[key] = figures.credentials.get(key, 0) + cred.count
        for dom in poll.domains:
            figures.domains[dom.domain] = figures.domains.get(dom.domain, 0) + dom.count
    return figures if seen else None


def figures_from_facts(
    facts: Iterable[Fact], window: Window, server_names: Mapping[int, str] | None = None
) -> SendingFigures:
    """Sending figures from the worker's ``Sending message`` lines (delivery attempts, not submissions)."""
    size = bucket_size(window)
    n = bucket_count(window, size)
    figures = SendingFigures("log lines (delivery attempts)", window.start, size)
    names = server_names or {}
    for fact in facts:
        if isinstance(fact, SendingMessage) and window.contains(fact.ts):
            name = names.get(fact.server_id, f"server {fact.server_id}")
            i = min(n - 1, int((fact.ts - window.start) // size))
            figures.servers.setdefault(name, [0] * n)[i] += 1
            domain = fact.rcpt.rpartition("@")[2].lower()
            figures.domains[domain] = figures.domains.get(domain, 0) + 1
    return figures


def figures_from_history(
    points: Iterable[HistoryPoint], servers: Mapping[int, str], window: Window
) -> SendingFigures | None:
    """Sending figures from Postal's ``stats_hourly`` rows, hourly (None when no row is in the window)."""
    size = max(3600.0, bucket_size(window))
    n = bucket_count(window, size)
    figures = SendingFigures("Postal database (stats_hourly)", window.start, size)
    seen = False
    for point in points:
        if point.granularity != "hour" or not window.start <= point.time < window.end:
            continue
        seen = True
        name = servers.get(point.server_id, f"server {point.server_id}")
        i = min(n - 1, int((point.time - window.start) // size))
        figures.servers.setdefault(name, [0] * n)[i] += point.outgoing
        if point.bounces:
            figures.bounced[name] = figures.bounced.get(name, 0) + point.bounces
    return figures if seen else None

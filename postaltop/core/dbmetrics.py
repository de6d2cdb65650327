"""Typed results of polling Postal's databases, and the arithmetic that turns raw counts into rates.

The database adapter (``postaltop.sources.postal_db``) runs the queries and hands the raw rows to the
functions here; everything that decides a figure (per-minute rates, the send-limit percentage, effective
suspension, top-N domains, staleness) is plain code that can be tested without a database.

Counting windows are id windows: each poll reads the rows with ``last_seen_id < id <= max_id`` (ids are
monotonic in Postal's message tables), so a figure is "rows that appeared during ``window_seconds``" and
the rate is ``count * 60 / window_seconds``.

The per-credential and per-domain figures live in :mod:`postaltop.core.db_samples`, the connection's health
in :mod:`postaltop.core.db_health`; both are re-exported here, so ``dbmetrics.<name>`` keeps working.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from math import floor

from postaltop.core.db_health import DB_STATES as DB_STATES
from postaltop.core.db_health import HealthSample as HealthSample
from postaltop.core.db_health import backoff_delay as backoff_delay
from postaltop.core.db_health import classify_failure as classify_failure
from postaltop.core.db_health import degraded_state as degraded_state
from postaltop.core.db_health import queue_latency_text as queue_latency_text
from postaltop.core.db_samples import MAX_DOMAINS_PER_CREDENTIAL as MAX_DOMAINS_PER_CREDENTIAL
from postaltop.core.db_samples import CredentialDomainSample as CredentialDomainSample
from postaltop.core.db_samples import CredentialSample as CredentialSample
from postaltop.core.db_samples import DomainSample as DomainSample
from postaltop.core.db_samples import credential_domains as credential_domains
from postaltop.core.db_samples import credential_samples as credential_samples
from postaltop.core.db_samples import rate_per_minute as rate_per_minute
from postaltop.core.db_samples import top_domains as top_domains

SEND_LIMIT_WINDOW_MINUTES = 60
"""Postal measures a server's send volume over the last 60 minutes of ``live_stats`` (facts §3.7)."""

DELIVERY_STATUS_FIELDS: Mapping[str, str] = {
    "Sent": "sent",
    "SoftFail": "soft_fail",
    "HardFail": "hard_fail",
    "Held": "held",
    "Bounced": "bounced",
}
"""Delivery status written by Postal -> the :class:`WindowCounts` field it is counted in."""


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """One Postal mail server as discovered in the main database."""

    id: int
    org_permalink: str
    permalink: str
    name: str
    mode: str
    """``Live`` or ``Development``."""
    suspended: bool
    """Effective suspension: the server's own or its organization's (``Server#suspended?``)."""
    suspension_reason: str | None
    send_limit: int | None
    """Outgoing messages per rolling 60 minutes; None = unlimited."""
    message_db: str
    """Name of the server's message database (``<prefix>-server-<id>``), unquoted."""
    message_db_exists: bool = True
    send_limit_exceeded_age: float | None = None
    """Seconds since Postal last held a message for the send limit (``send_limit_exceeded_at``), if set."""
    send_limit_approaching_age: float | None = None
    """Seconds since Postal last saw the server at ≥ 90 % of its limit (``send_limit_approaching_at``)."""

    @property
    def full_permalink(self) -> str:
        """``org/server`` as Postal shows it (and as CRAM-MD5 user names are written)."""
        return f"{self.org_permalink}/{self.permalink}"


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """Raw counts of one id window of one server."""

    outgoing: int = 0
    """New outgoing message rows."""
    incoming: int = 0
    """New incoming message rows."""
    sent: int = 0
    soft_fail: int = 0
    hard_fail: int = 0
    held: int = 0
    bounced: int = 0
    """Deliveries with status ``Bounced`` (a bounce received after sending); hard fails are separate."""
    spam: int = 0
    """Outgoing deliveries whose message is flagged spam (the flag is set at inspection, after creation)."""


@dataclass(frozen=True, slots=True)
class ServerSample:
    """The figures of one server in one poll cycle."""

    server_id: int
    sampled_at: float
    """Database clock (epoch seconds) when the figures were read."""
    window_seconds: float
    """Length of the counting window the ``counts`` cover."""
    counts: WindowCounts = field(default_factory=WindowCounts)
    queue_depth: int = 0
    """Rows in ``queued_messages`` for the server (ready, waiting to retry and locked)."""
    queue_ready: int = 0
    """Rows ready to be processed now (Postal's UI "queue size")."""
    queue_retrying: int = 0
    """Rows with at least one failed attempt."""
    queue_locked: int = 0
    """Rows a worker is processing right now."""
    oldest_queued_age: float | None = None
    """Seconds since the oldest queued row was created; None when the queue is empty."""
    held_total: int = 0
    """Messages currently held (``held = 1``)."""
    outgoing_last_hour: int = 0
    """Postal's send volume: ``live_stats`` outgoing over the last 60 minutes."""
    incoming_last_hour: int = 0
    send_limit: int | None = None
    send_limit_usage_pct: float | None = None
    """``outgoing_last_hour / send_limit * 100``; None when the server has no limit."""
    held_send_limit: int = 0
    """Messages held in the window because the send limit was reached (``Held`` deliveries saying so)."""
    held_send_limit_by_credential: tuple[tuple[int, int], ...] = ()
    """``(credential id, messages)`` of those holds (0: no credential)."""
    future_rows: int = 0
    """Rows of the window stamped after the database clock: ignored, counted here for health."""
    stale: bool = False
    """True when this cycle could not read the server; the figures are from an earlier cycle."""
    stale_age: float | None = None
    """Seconds since the figures were read, when stale."""
    error: str | None = None

    def per_minute(self, count: int) -> float:
        """A window count as a per-minute rate."""
        return rate_per_minute(count, self.window_seconds)

    @property
    def sent_per_min(self) -> float:
        """Outgoing deliveries with status Sent per minute."""
        return self.per_minute(self.counts.sent)

    @property
    def soft_fail_per_min(self) -> float:
        """Outgoing SoftFail deliveries per minute."""
        return self.per_minute(self.counts.soft_fail)

    @property
    def hard_fail_per_min(self) -> float:
        """Outgoing HardFail deliveries per minute."""
        return self.per_minute(self.counts.hard_fail)

    @property
    def held_per_min(self) -> float:
        """Outgoing Held deliveries per minute."""
        return self.per_minute(self.counts.held)

    @property
    def bounced_per_min(self) -> float:
        """Bounced deliveries per minute."""
        return self.per_minute(self.counts.bounced)

    @property
    def spam_per_min(self) -> float:
        """Outgoing deliveries of spam-flagged messages per minute."""
        return self.per_minute(self.counts.spam)

    @property
    def outgoing_per_min(self) -> float:
        """New outgoing messages per minute."""
        return self.per_minute(self.counts.outgoing)

    @property
    def incoming_per_min(self) -> float:
        """New incoming messages per minute."""
        return self.per_minute(self.counts.incoming)


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One ``stats_hourly`` or ``stats_daily`` row of a server."""

    server_id: int
    granularity: str
    """``hour`` or ``day``."""
    time: int
    """Epoch of the start of the hour/day (UTC)."""
    incoming: int
    outgoing: int
    spam: int
    bounces: int
    held: int


@dataclass(frozen=True, slots=True)
class PollResult:
    """Everything one poll cycle produced."""

    started_at: float
    """Local clock when the cycle started."""
    duration: float
    """Seconds the cycle took."""
    connected: bool
    status: str
    """One human line: ``ok``, ``connecting``, ``unreachable: ...``."""
    servers: tuple[ServerInfo, ...] = ()
    samples: tuple[ServerSample, ...] = ()
    credentials: tuple[CredentialSample, ...] = ()
    domains: tuple[DomainSample, ...] = ()
    errors: tuple[str, ...] = ()
    queries: int = 0
    """Round trips the cycle issued (the benchmark's reference uses the same number)."""
    retry_in: float | None = None
    """When not connected: seconds until the next connection attempt."""
    health: tuple[HealthSample, ...] = ()
    """The newest health-server metrics of the hosts (Postal v3), when they are read."""
    credential_domains: tuple[CredentialDomainSample, ...] = ()
    """Outgoing messages per (credential, recipient domain) in the window (capped per credential)."""
    state: str = ""
    """One of :data:`DB_STATES` (empty when the producer does not classify, e.g. the demo)."""

    @property
    def future_rows(self) -> int:
        """Rows stamped after the database clock in this cycle's windows (ignored)."""
        return sum(s.future_rows for s in self.samples if not s.stale)

    def sample(self, server_id: int) -> ServerSample | None:
        """The sample of one server, if the cycle has one."""
        for found in self.samples:
            if found.server_id == server_id:
                return found
        return None


def send_limit_usage_pct(volume: int, send_limit: int | None) -> float | None:
    """Postal's "outgoing usage": last-60-minute volume / send_limit * 100.

    A limit of 0 means everything is held (``volume >= limit`` is always true in Postal), shown as 100 %.
    """
    if send_limit is None:
        return None
    if send_limit <= 0:
        return 100.0
    return volume * 100.0 / send_limit


def live_stats_threshold(db_now: float, minutes: int = SEND_LIMIT_WINDOW_MINUTES) -> float:
    """Epoch of the start of the minute ``minutes`` ago: ``live_stats`` rows newer than this count."""
    return floor((db_now - minutes * 60) / 60.0) * 60.0


def effective_suspension(
    server_suspended: bool, server_reason: str | None, org_suspended: bool, org_reason: str | None
) -> tuple[bool, str | None]:
    """A server is suspended when it or its organization is; the org's reason shows when only it is."""
    if server_suspended:
        return True, server_reason
    if org_suspended:
        return True, org_reason
    return False, None


def count_deliveries(rows: Iterable[tuple[str | None, int | None, int]]) -> WindowCounts:
    """Fold ``(status, message_spam, count)`` groups of outgoing deliveries into counts."""
    totals: dict[str, int] = {}
    spam = 0
    for status, is_spam, count in rows:
        name = DELIVERY_STATUS_FIELDS.get(status or "")
        if name is not None:
            totals[name] = totals.get(name, 0) + int(count)
        if is_spam:
            spam += int(count)
    return WindowCounts(spam=spam, **totals)


def held_by_send_limit(rows: Iterable[tuple[str | None, int | None, int]]) -> dict[int, int]:
    """Messages held by the send limit per credential (0: none) from ``(held_reason, credential, count)``."""
    out: dict[int, int] = {}
    for reason, cred, count in rows:
        if reason == "send_limit":
            key = cred if cred is not None and cred > 0 else 0
            out[key] = out.get(key, 0) + int(count)
    return out


def merge_message_counts(
    counts: WindowCounts, rows: Iterable[tuple[str | None, int | None, str | None, int]]
) -> WindowCounts:
    """Add the ``(scope, credential_id, rcpt_domain, count)`` message groups to ``counts``."""
    outgoing = incoming = 0
    for scope, _cred, _domain, count in rows:
        if scope == "outgoing":
            outgoing += int(count)
        elif scope == "incoming":
            incoming += int(count)
    return replace(counts, outgoing=counts.outgoing + outgoing, incoming=counts.incoming + incoming)


def mark_stale(previous: ServerSample | None, server_id: int, now: float, error: str) -> ServerSample:
    """The sample for a server this cycle could not read: the last good figures, flagged with their age.

    Args:
        previous: the last good sample of the server, if any.
        server_id: the server.
        now: the current time on the same clock as ``previous.sampled_at`` (the database clock).
        error: why the server could not be read.
    """
    if previous is None:
        return ServerSample(server_id, now, 0.0, stale=True, stale_age=None, error=error)
    age = max(0.0, now - previous.sampled_at)
    return replace(previous, stale=True, stale_age=age, error=error)

"""Typed results of polling Postal's databases, and the arithmetic that turns raw counts into rates.

The database adapter (``postaltop.sources.postal_db``) runs the queries and hands the raw rows to the
functions here; everything that decides a figure (per-minute rates, the send-limit percentage, effective
suspension, top-N domains, staleness) is plain code that can be tested without a database.

Counting windows are id windows: each poll reads the rows with ``last_seen_id < id <= max_id`` (ids are
monotonic in Postal's message tables), so a figure is "rows that appeared during ``window_seconds``" and
the rate is ``count * 60 / window_seconds``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from math import floor

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
class CredentialSample:
    """Messages submitted with one credential in the window (the key is never read)."""

    credential_id: int
    server_id: int
    name: str
    type: str
    """``SMTP``, ``API`` or ``SMTP-IP``; ``?`` when the credential row is gone."""
    count: int
    per_minute: float


@dataclass(frozen=True, slots=True)
class DomainSample:
    """One of a server's top recipient domains (outgoing) in the window."""

    server_id: int
    domain: str
    count: int
    per_minute: float


@dataclass(frozen=True, slots=True)
class CredentialDomainSample:
    """Outgoing messages one credential submitted to one recipient domain in the window.

    The novelty detector's input (a credential suddenly mailing many domains it never used).
    """

    credential_id: int
    server_id: int
    domain: str
    count: int


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
class HealthSample:
    """What one Postal process's health-server ``/metrics`` said (v3; read over SSH)."""

    host: str
    component: str
    """``worker`` (port 9090, queue latency) or ``smtp`` (port 9091)."""
    fetched_at: float
    ok: bool
    error: str | None = None
    queue_latency_mean: float | None = None
    """Mean seconds between queueing and processing, over the observations since the previous scrape."""
    queue_latency_p50: float | None = None
    queue_latency_p95: float | None = None
    queue_latency_observations: float = 0.0
    """Messages dequeued since the previous scrape (the histogram's count delta)."""
    counters: tuple[tuple[str, float], ...] = ()
    """Selected counter totals (``name{labels}``, value) as exposed."""


def queue_latency_text(samples: Iterable[HealthSample]) -> str | None:
    """``mx1 0.8 s (p95 2.1 s)`` for every worker with a latency figure; None when there is none."""
    parts = []
    for sample in samples:
        if sample.component != "worker":
            continue
        if not sample.ok:
            parts.append(f"{sample.host} ?")
        elif sample.queue_latency_mean is not None:
            text = f"{sample.host} {sample.queue_latency_mean:.1f} s"
            if sample.queue_latency_p95 is not None:
                text += f" (p95 {sample.queue_latency_p95:.1f} s)"
            parts.append(text)
    return ", ".join(parts) if parts else None


DB_STATES = (
    "ok",
    "degraded",
    "missing-message-db",
    "not-answering",
    "refused",
    "auth-failed",
    "missing-grant",
    "unreachable",
    "error",
)
"""How the database is doing: ``not-answering`` (accepted, no reply in time), ``refused`` (nothing listens),
``auth-failed`` (wrong account or password), ``unreachable`` (no route, unknown host, tunnel down),
``missing-grant``, ``missing-message-db`` (some server's message database is absent), ``degraded`` (other
per-server problems), ``error`` (anything else)."""

_REFUSED_CODES = frozenset({2002, 2003})
_AUTH_CODES = frozenset({1045, 1698})
_GRANT_CODES = frozenset({1044, 1142, 1143})
_UNREACHABLE_CODES = frozenset({2002, 2003, 2005, 2026, 2006, 2013, 2014, 2055, 0})


def classify_failure(code: int | None, text: str, *, timed_out: bool) -> str:
    """The :data:`DB_STATES` value of a failed connection or main query (``code``: MySQL error number)."""
    if timed_out:
        return "not-answering"
    lowered = text.lower()
    if code in _AUTH_CODES:
        return "auth-failed"
    if code in _GRANT_CODES:
        return "missing-grant"
    if code in _REFUSED_CODES and ("refused" in lowered or "errno 111" in lowered):
        return "refused"
    if code in _UNREACHABLE_CODES:
        return "unreachable"
    return "error"


def degraded_state(errors: Sequence[str]) -> str:
    """``ok``, ``missing-message-db`` (every problem is a missing message database) or ``degraded``."""
    if not errors:
        return "ok"
    if all("message database missing" in e for e in errors):
        return "missing-message-db"
    return "degraded"


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


def rate_per_minute(count: int, window_seconds: float) -> float:
    """``count`` events over ``window_seconds`` as events per minute (0 for an empty window)."""
    if window_seconds <= 0:
        return 0.0
    return count * 60.0 / window_seconds


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


def credential_samples(
    server_id: int,
    rows: Iterable[tuple[str | None, int | None, str | None, int]],
    names: Mapping[int, tuple[str, str]],
    window_seconds: float,
) -> list[CredentialSample]:
    """Messages per credential from the message groups; ``names`` maps id -> (name, type)."""
    per_id: dict[int, int] = {}
    for _scope, cred, _domain, count in rows:
        if cred is not None and cred > 0:
            per_id[cred] = per_id.get(cred, 0) + int(count)
    out = []
    for cred, count in sorted(per_id.items(), key=lambda item: (-item[1], item[0])):
        name, kind = names.get(cred, (f"#{cred} (deleted)", "?"))
        out.append(
            CredentialSample(cred, server_id, name, kind, count, rate_per_minute(count, window_seconds))
        )
    return out


MAX_DOMAINS_PER_CREDENTIAL = 200
"""Most recipient domains reported per credential and poll (busiest first): novelty needs only dozens."""


def credential_domains(
    server_id: int,
    rows: Iterable[tuple[str | None, int | None, str | None, int]],
    limit: int = MAX_DOMAINS_PER_CREDENTIAL,
) -> list[CredentialDomainSample]:
    """Outgoing messages per (credential, recipient domain) from the message groups, ``limit`` per credential.

    Rows without a credential or a domain, and incoming rows, are left out.
    """
    per: dict[int, dict[str, int]] = {}
    for scope, cred, domain, count in rows:
        if scope != "outgoing" or cred is None or cred <= 0 or not domain:
            continue
        domains = per.setdefault(int(cred), {})
        key = domain.lower()
        domains[key] = domains.get(key, 0) + int(count)
    out: list[CredentialDomainSample] = []
    for cred in sorted(per):
        ranked = sorted(per[cred].items(), key=lambda item: (-item[1], item[0]))[: max(limit, 0)]
        out.extend(CredentialDomainSample(cred, server_id, d, c) for d, c in ranked)
    return out


def top_domains(
    server_id: int,
    rows: Iterable[tuple[str | None, int | None, str | None, int]],
    limit: int,
    window_seconds: float,
) -> list[DomainSample]:
    """The ``limit`` busiest outgoing recipient domains (ties broken by name, so output is stable)."""
    per_domain: dict[str, int] = {}
    for scope, _cred, domain, count in rows:
        if scope == "outgoing":
            key = (domain or "").lower()
            per_domain[key] = per_domain.get(key, 0) + int(count)
    ranked = sorted(per_domain.items(), key=lambda item: (-item[1], item[0]))[: max(limit, 0)]
    return [DomainSample(server_id, d, c, rate_per_minute(c, window_seconds)) for d, c in ranked]


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


def backoff_delay(attempt: int, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait before reconnect attempt ``attempt`` (0-based): exponential, capped, jittered.

    Args:
        attempt: how many attempts already failed in a row.
        base: the first delay.
        cap: the longest delay.
        jitter: a random number in [0, 1); the delay is scaled into [50 %, 100 %] of the exponential
            value so that many clients restarted together do not reconnect in lock step.
    """
    exponential = min(cap, base * (2.0 ** min(attempt, 30)))
    return exponential * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))

"""What a source reads once, at first connect, so that detection sees the recent past at once.

A live poll only counts rows that appear after it connects; an incident already under way when the
operator looks would otherwise stay invisible until baselines and windows fill. At the first connected
poll the monitor asks its source (the Postal database, or the demo's simulated one — the same interface)
for a :class:`ConnectState`:

* ``history``: Postal's ``stats_hourly``/``stats_daily`` rows (server baselines for weeks back);
* ``backfill``: the recent past (default 6 h) aggregated per minute **in SQL** — outgoing messages per
  server and credential, recipient domains (top N plus ``other``), deliveries by delivery time (status, spam,
  held reason) — bounded row counts, never one row per message;
* ``credential_hours`` and ``credential_domains``: each credential's hourly volume and usual recipient
  domains **before** the backfill window, from the message history (credential baselines and novelty);
* ``domain_hours``: the hourly volume to each server's top recipient domains over that same history
  (recipient-domain baselines).

Pure data and the arithmetic on it; the SQL is in ``postaltop.sources.db_queries``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from postaltop.core.dbmetrics import HistoryPoint

OTHER_DOMAIN = "other"
"""The bucket of every recipient domain outside the top N."""

HELD_REASONS: tuple[tuple[str, str], ...] = (
    ("send_limit", "Message held because send limit%"),
    ("credential", "Credential is configured to hold%"),
    ("suppression", "Recipient % is on the suppression list%"),
    ("development", "Server is in development mode%"),
    ("suspended", "Mail server has been suspended%"),
)
"""Why Postal held a message: reason name -> LIKE pattern of the ``Held`` delivery's ``details`` (the
texts Postal's message dequeuer writes)."""


def held_reason(details: str | None) -> str:
    """The reason name of a ``Held`` delivery's details (``other`` when unknown); mirrors the SQL CASE."""
    text = details or ""
    for name, pattern in HELD_REASONS:
        head, _, rest = pattern.partition("%")
        if not text.startswith(head):
            continue
        tail = rest.rstrip("%")
        if not tail or tail in text[len(head) :]:
            return name
    return "other"


@dataclass(frozen=True, slots=True)
class MessageMinute:
    """Outgoing messages created in one minute by one credential (None: no credential) of one server."""

    server_id: int
    minute: int
    """Epoch minute (``timestamp // 60``)."""
    credential_id: int | None
    count: int


@dataclass(frozen=True, slots=True)
class DeliveryMinute:
    """Outgoing deliveries in one minute (by delivery time) with one status, spam flag and held reason."""

    server_id: int
    minute: int
    status: str
    spam: bool
    reason: str
    """Held reason (:data:`HELD_REASONS` names, ``other``) for ``Held``; ``""`` otherwise."""
    credential_id: int | None
    """The message's credential, for ``Held`` deliveries only (None otherwise)."""
    count: int


@dataclass(frozen=True, slots=True)
class DomainMinute:
    """Outgoing messages to one recipient domain (or :data:`OTHER_DOMAIN`) in one minute."""

    server_id: int
    minute: int
    domain: str
    count: int


@dataclass(frozen=True, slots=True)
class CredentialDomainSpan:
    """One credential's messages to one domain inside the backfill: when first and last, how many."""

    server_id: int
    credential_id: int
    domain: str
    first_minute: int
    last_minute: int
    count: int


@dataclass(frozen=True, slots=True)
class CredentialHour:
    """One credential's outgoing messages in one clock hour before the backfill (baseline input)."""

    server_id: int
    credential_id: int
    hour: int
    """Epoch of the hour's start."""
    count: int


@dataclass(frozen=True, slots=True)
class DomainHour:
    """Outgoing messages to one recipient domain (or :data:`OTHER_DOMAIN`) of one server in one clock hour
    before the backfill (recipient-domain baselines); the domains are the backfill's top ones."""

    server_id: int
    hour: int
    """Epoch of the hour's start."""
    domain: str
    count: int


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    """A credential's name, type and server (never its key)."""

    id: int
    server_id: int
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class Backfill:
    """The recent past of every readable server, per minute, on the database clock."""

    start: float
    """First second covered (inclusive)."""
    end: float
    """Last second covered (exclusive): the database clock when the first poll ran."""
    messages: tuple[MessageMinute, ...] = ()
    deliveries: tuple[DeliveryMinute, ...] = ()
    domains: tuple[DomainMinute, ...] = ()
    credential_domains: tuple[CredentialDomainSpan, ...] = ()
    future_rows: int = 0
    """Rows stamped after the database clock (ignored)."""
    errors: tuple[str, ...] = ()
    """Servers that could not be read, and why."""


@dataclass(frozen=True, slots=True)
class ConnectState:
    """Everything read at first connect (see the module docstring)."""

    history: tuple[HistoryPoint, ...] = ()
    backfill: Backfill | None = None
    credential_hours: tuple[CredentialHour, ...] = ()
    credential_domains: tuple[tuple[int, str], ...] = ()
    """``(credential id, domain)`` pairs mailed in the history before the backfill."""
    credential_since: float = 0.0
    """Start of the credential history read (its domains count as known since then)."""
    credentials: tuple[CredentialInfo, ...] = ()
    errors: tuple[str, ...] = field(default=())
    domain_hours: tuple[DomainHour, ...] = ()
    """Hourly messages to each server's top recipient domains, over the history of ``credential_hours``."""


@dataclass(slots=True)
class MinuteFigures:
    """One server's figures for one minute, folded from a backfill."""

    outgoing: int = 0
    sent: int = 0
    hard_fail: int = 0
    bounced: int = 0
    held: int = 0
    spam: int = 0
    held_send_limit: int = 0
    credentials: dict[int, int] = field(default_factory=dict)
    held_by_credential: dict[int, int] = field(default_factory=dict)
    """Messages held by the send limit per credential."""
    domains: dict[str, int] = field(default_factory=dict)
    new_domains: dict[int, list[str]] = field(default_factory=dict)
    """Credential -> domains it mailed in this minute (first or last time in the backfill)."""


def fold_backfill(backfill: Backfill) -> dict[int, dict[int, MinuteFigures]]:
    """Per epoch minute, per server: the figures of that minute (minutes in ascending order)."""
    out: dict[int, dict[int, MinuteFigures]] = {}

    def at(minute: int, server_id: int) -> MinuteFigures:
        return out.setdefault(minute, {}).setdefault(server_id, MinuteFigures())

    for m in backfill.messages:
        fig = at(m.minute, m.server_id)
        fig.outgoing += m.count
        if m.credential_id is not None and m.credential_id > 0:
            fig.credentials[m.credential_id] = fig.credentials.get(m.credential_id, 0) + m.count
    for d in backfill.deliveries:
        fig = at(d.minute, d.server_id)
        if d.status == "Sent":
            fig.sent += d.count
        elif d.status == "HardFail":
            fig.hard_fail += d.count
        elif d.status == "Bounced":
            fig.bounced += d.count
        elif d.status == "Held":
            fig.held += d.count
            if d.reason == "send_limit":
                fig.held_send_limit += d.count
                if d.credential_id is not None and d.credential_id > 0:
                    held = fig.held_by_credential
                    held[d.credential_id] = held.get(d.credential_id, 0) + d.count
        if d.spam:
            fig.spam += d.count
    for dom in backfill.domains:
        fig = at(dom.minute, dom.server_id)
        fig.domains[dom.domain] = fig.domains.get(dom.domain, 0) + dom.count
    for span in backfill.credential_domains:
        for minute in {span.first_minute, span.last_minute}:
            at(minute, span.server_id).new_domains.setdefault(span.credential_id, []).append(span.domain)
    return dict(sorted(out.items()))


def credential_hour_rates(hours: Iterable[CredentialHour]) -> dict[int, dict[int, float]]:
    """Credential id -> {hour epoch: mean per-minute rate} (hours without messages are absent)."""
    out: dict[int, dict[int, float]] = {}
    for h in hours:
        if h.count >= 0:
            per = out.setdefault(h.credential_id, {})
            per[h.hour] = per.get(h.hour, 0.0) + h.count / 60.0
    return out


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    """What the monitor asks its source for at first connect (from ``[detection]``)."""

    until: float
    """End of the backfill: the database clock of the first poll."""
    backfill_seconds: float = 6 * 3600.0
    credential_history_seconds: float = 48 * 3600.0
    """Message history read before the backfill for credential baselines and usual domains."""
    history_weeks: int = 4
    top_domains: int = 10
    max_pairs: int = 20_000
    """Most (credential, domain) rows read per server and query."""

    @property
    def start(self) -> float:
        """First second of the backfill."""
        return self.until - self.backfill_seconds

    @property
    def credential_since(self) -> float:
        """First second of the credential history."""
        return self.start - self.credential_history_seconds


def top_domains(spans: Iterable[CredentialDomainSpan], limit: int) -> list[str]:
    """The ``limit`` busiest recipient domains over the spans of one server (ties by name)."""
    totals: dict[str, int] = {}
    for span in spans:
        if span.domain:
            totals[span.domain] = totals.get(span.domain, 0) + span.count
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return [d for d, _ in ranked[: max(0, limit)] if d != OTHER_DOMAIN]


def domain_hour_rates(
    hours: Iterable[DomainHour], server_key: Callable[[int], str], since: float, before: float
) -> dict[str, dict[int, float]]:
    """Recipient-domain scope key -> {hour epoch: mean per-minute rate} from the hours before the backfill.

    A domain is keyed as the monitor keys its series (lower case; ``other (org/server)`` for a server's
    other domains) and summed over the servers that read it. Every whole hour from the server's first hour
    with any message (``since`` at the earliest: retention may be shorter) up to ``before`` gets a sample,
    0 when the domain was not mailed in it, so a quiet hour is learnt as quiet.
    """
    rows = [h for h in hours if h.count >= 0 and since <= h.hour and h.hour + 3600 <= before]
    first: dict[int, int] = {}
    mailed: set[tuple[str, int]] = set()
    out: dict[str, dict[int, float]] = {}
    for h in rows:
        first[h.server_id] = min(first.get(h.server_id, h.hour), h.hour)
        key = h.domain.lower() if h.domain != OTHER_DOMAIN else f"{OTHER_DOMAIN} ({server_key(h.server_id)})"
        mailed.add((key, h.server_id))
        slot = out.setdefault(key, {})
        slot[h.hour] = slot.get(h.hour, 0.0) + h.count / 60.0
    last = int(before // 3600) * 3600
    for key, sid in mailed:
        for hour in range(first[sid], last, 3600):
            out[key].setdefault(hour, 0.0)
    return out

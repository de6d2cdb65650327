"""The simulated Postal installation: organizations, mail servers, credentials and their state.

This is the demo's "main database". Fields mirror the Postal columns that change what the
pipeline does (``servers.mode``, ``suspended_at``, ``send_limit``, ``credentials.hold``, a deleted
credential), so incident actions can flip them on a running :class:`~postaltop.core.sim.Fleet`
and the simulated logs react the way Postal's would (facts §3).

It also holds :class:`Counters`, the per-minute figures Postal would have in its message
databases (``messages``/``deliveries``/``live_stats``): the demo's stand-in for SQL polling.
"""

from __future__ import annotations

import random
import string
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import TypeVar

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits


@dataclass(slots=True)
class Organization:
    """A Postal organization (``organizations`` row)."""

    id: int
    permalink: str
    name: str
    suspended: bool = False


@dataclass(slots=True)
class Credential:
    """A credential (``credentials`` row). ``key`` is secret: it never appears in any log line."""

    id: int
    server_id: int
    type: str
    """``SMTP`` (AUTH password) or ``API`` (``X-Server-API-Key`` header)."""
    name: str
    key: str = field(repr=False)
    hold: bool = False
    """``credentials.hold``: messages are accepted, then Held by the worker."""
    deleted: bool = False
    """Revoked (row deleted): AUTH fails with ``535 Invalid credential``."""
    weight: float = 1.0
    """Share of the server's traffic submitted with this credential."""
    client_ips: tuple[str, ...] = ()
    """Addresses of the customer's application servers that use the credential."""
    helo: str = "app.example"


@dataclass(slots=True)
class MailServer:
    """A mail server (``servers`` row) and the per-server sequences of its message database."""

    id: int
    organization: Organization
    permalink: str
    name: str
    token: str
    """6 lower-case characters; the local part of its return-path address."""
    mode: str = "Live"
    """``Live`` or ``Development`` (Development holds every non-manual message)."""
    suspended: bool = False
    send_limit: int | None = None
    """Outgoing messages per rolling 60 minutes; ``None`` = unlimited."""
    share: float = 0.25
    """Share of the fleet's base message rate."""
    profile: str = "transactional"
    """Traffic shape: ``transactional`` (follows the day) or ``campaign`` (bursts at send times)."""
    credentials: list[Credential] = field(default_factory=list)
    senders: tuple[str, ...] = ()
    next_message_id: int = 1
    live_minutes: deque[list[int]] = field(default_factory=deque)
    """``live_stats`` outgoing: ``[minute_epoch, count]`` pairs of the last hour (send-limit volume)."""

    @property
    def full_permalink(self) -> str:
        """``<org>/<server>``, as in ``235 Granted for acme/transactional``."""
        return f"{self.organization.permalink}/{self.permalink}"

    @property
    def is_suspended(self) -> bool:
        """Postal's ``Server#suspended?``: the server or its organization is suspended."""
        return self.suspended or self.organization.suspended

    def credential(self, name: str) -> Credential:
        """Return this server's credential called ``name``.

        Raises:
            KeyError: if the server has no credential of that name.
        """
        for cred in self.credentials:
            if cred.name == name:
                return cred
        raise KeyError(f"{self.full_permalink} has no credential {name!r}")


@dataclass(frozen=True, slots=True)
class Domain:
    """A recipient domain: where its MX is and how it tends to answer."""

    name: str
    mx_host: str
    mx_ip: str
    weight: float
    soft_fail: float
    """Probability that a delivery attempt is deferred (4xx)."""
    hard_fail: float
    """Probability that a delivery attempt is refused permanently (5xx)."""
    deferral: str
    """The 4xx reply this provider gives."""


@dataclass(slots=True)
class Tally:
    """Counts for one key in one minute. Field names match Postal's vocabulary.

    * ``outgoing``/``incoming``: messages created (SMTP/API acceptance; ``stats_*`` outgoing/incoming).
    * ``sent``, ``held``, ``soft_failed``, ``hard_failed``: deliveries created by the worker.
    * ``bounced``: ``Bounced`` deliveries (a bounce came back for a sent message).
    * ``processed``: ``live_stats`` outgoing increments (what the send limit counts).
    """

    outgoing: int = 0
    incoming: int = 0
    sent: int = 0
    held: int = 0
    soft_failed: int = 0
    hard_failed: int = 0
    bounced: int = 0
    processed: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain mapping."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


TALLY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Tally))


@dataclass(slots=True)
class MinuteCounters:
    """Everything counted during one UTC minute (``minute`` = epoch of its first second)."""

    minute: int
    servers: dict[int, Tally] = field(default_factory=dict)
    """Keyed by ``servers.id``."""
    credentials: dict[int, Tally] = field(default_factory=dict)
    """Keyed by ``credentials.id``."""
    domains: dict[tuple[int, str], Tally] = field(default_factory=dict)
    """Keyed by ``(servers.id, recipient domain)``."""
    auth_failures: dict[str, int] = field(default_factory=dict)
    """SMTP ``Authentication failure for <ip>`` lines, keyed by client IP."""


_K = TypeVar("_K")


def _bump(table: dict[_K, Tally], key: _K, metric: str) -> None:
    tally = table.get(key)
    if tally is None:
        tally = table[key] = Tally()
    setattr(tally, metric, getattr(tally, metric) + 1)


class Counters:
    """Per-minute counters of the simulated message databases, oldest minute first.

    ``minutes`` maps a minute's start epoch to its :class:`MinuteCounters`; minutes with no
    activity are absent. Minutes older than ``retention`` seconds are dropped as time moves on.
    """

    __slots__ = ("minutes", "retention")

    def __init__(self, retention: float = 8 * 86400.0) -> None:
        self.minutes: dict[int, MinuteCounters] = {}
        self.retention = retention

    def at(self, ts: float) -> MinuteCounters:
        """Return (creating it) the bucket of the minute containing ``ts``."""
        minute = int(ts // 60) * 60
        bucket = self.minutes.get(minute)
        if bucket is None:
            bucket = MinuteCounters(minute)
            self.minutes[minute] = bucket
            self._prune(minute)
        return bucket

    def _prune(self, newest: int) -> None:
        cutoff = newest - self.retention
        while self.minutes:
            oldest = next(iter(self.minutes))
            if oldest >= cutoff:
                break
            del self.minutes[oldest]

    def add(
        self, ts: float, metric: str, server_id: int, credential_id: int | None, domain: str | None
    ) -> None:
        """Count one ``metric`` (a :class:`Tally` field) for a server, its credential and domain."""
        bucket = self.at(ts)
        _bump(bucket.servers, server_id, metric)
        if credential_id is not None:
            _bump(bucket.credentials, credential_id, metric)
        if domain is not None:
            _bump(bucket.domains, (server_id, domain), metric)

    def auth_failure(self, ts: float, ip: str) -> None:
        """Count one SMTP authentication failure from ``ip``."""
        failures = self.at(ts).auth_failures
        failures[ip] = failures.get(ip, 0) + 1

    def window(self, start: float, end: float) -> Iterator[MinuteCounters]:
        """Yield the buckets of minutes that start in ``[start, end)``."""
        for minute, bucket in self.minutes.items():
            if start <= minute < end:
                yield bucket

    def server_total(self, server_id: int, metric: str, start: float, end: float) -> int:
        """Sum ``metric`` for one server over the minutes starting in ``[start, end)``."""
        total = 0
        for bucket in self.window(start, end):
            tally = bucket.servers.get(server_id)
            if tally is not None:
                total += getattr(tally, metric)
        return total

    def credential_total(self, credential_id: int, metric: str, start: float, end: float) -> int:
        """Sum ``metric`` for one credential over the minutes starting in ``[start, end)``."""
        total = 0
        for bucket in self.window(start, end):
            tally = bucket.credentials.get(credential_id)
            if tally is not None:
                total += getattr(tally, metric)
        return total

    def auth_failures_total(self, start: float, end: float) -> int:
        """All SMTP authentication failures over the minutes starting in ``[start, end)``."""
        return sum(sum(b.auth_failures.values()) for b in self.window(start, end))


@dataclass(slots=True)
class Installation:
    """The whole simulated Postal installation (what the main database would hold)."""

    organizations: list[Organization]
    servers: list[MailServer]
    domains: list[Domain]
    return_path_domain: str = "psrp.postal.example"

    def server(self, permalink: str) -> MailServer:
        """Return the server whose ``org/server`` permalink is ``permalink``.

        Raises:
            KeyError: if no server has that permalink.
        """
        for srv in self.servers:
            if srv.full_permalink == permalink:
                return srv
        raise KeyError(f"no mail server {permalink!r}")

    @property
    def credentials(self) -> list[Credential]:
        """Every credential of every server."""
        return [c for s in self.servers for c in s.credentials]


def random_key(rng: random.Random, length: int = 24) -> str:
    """A credential key like Postal's: random alphanumerics."""
    return "".join(rng.choices(ALNUM, k=length))


# (name, MX host, MX IP, weight, soft-fail p, hard-fail p, deferral reply). IPs are documentation ranges.
# fmt: off
_DOMAINS: tuple[tuple[str, str, str, float, float, float, str], ...] = (
    ("gmail.com", "gmail-smtp-in.l.google.com", "192.0.2.26", 30, 0.008, 0.006,
     "421 4.7.28 Our system has detected an unusual rate of unsolicited mail. Try again later."),
    ("outlook.com", "outlook-com.olc.protection.outlook.com", "192.0.2.52", 14, 0.012, 0.006,
     "451 4.7.500 Server busy. Please try again later."),
    ("hotmail.com", "hotmail-com.olc.protection.outlook.com", "192.0.2.53", 8, 0.012, 0.008,
     "451 4.7.500 Server busy. Please try again later."),
    ("yahoo.com", "mta7.am0.yahoodns.net", "192.0.2.71", 9, 0.03, 0.007,
     "421 4.7.0 [TSS04] Messages temporarily deferred due to unexpected volume or user complaints"),
    ("icloud.com", "mx01.mail.icloud.com", "192.0.2.90", 6, 0.01, 0.005,
     "421 4.7.0 Try again later, closing connection."),
    ("gmx.de", "mx00.emig.gmx.net", "192.0.2.110", 4, 0.015, 0.01,
     "421 4.7.0 Too many connections, try again later"),
    ("web.de", "mx-ha03.web.de", "192.0.2.111", 3, 0.015, 0.01,
     "421 4.7.0 Too many connections, try again later"),
    ("example.net", "mx1.example.net", "192.0.2.10", 5, 0.02, 0.01,
     "421 4.7.0 Try again later, closing connection."),
    ("corp-mail.example", "mail.corp-mail.example", "198.51.100.40", 4, 0.03, 0.015,
     "450 4.2.1 Mailbox temporarily unavailable, greylisted"),
    ("university.example.edu", "mx.university.example.edu", "198.51.100.90", 3, 0.02, 0.02,
     "421 4.3.2 Service not available, closing transmission channel"),
)
"""(name, MX host, MX IP, weight, soft-fail p, hard-fail p, deferral reply); IPs are documentation ranges."""

_ServerSpec = tuple[int, str, str, str, "int | None", float, str, tuple[str, ...]]
_SERVERS: tuple[_ServerSpec, ...] = (
    # (org index, permalink, name, mode, send_limit, share of base rate, profile, sender addresses)
    (0, "transactional", "Transactional", "Live", None, 0.45, "transactional",
     ("noreply@acme.example", "billing@acme.example", "accounts@acme.example")),
    (0, "newsletters", "Newsletters", "Live", 20000, 0.2, "campaign",
     ("news@mail.acme.example", "offers@mail.acme.example")),
    (1, "app", "App", "Live", 20000, 0.3, "transactional",
     ("notifications@globex.example", "no-reply@globex.example")),
    (1, "staging", "Staging", "Development", None, 0.05, "transactional", ("test@staging.globex.example",)),
)
_CREDENTIALS: dict[str, tuple[tuple[str, str, float], ...]] = {
    # server permalink -> (name, type, relative weight)
    "transactional": (("main smtp", "SMTP", 6), ("billing smtp", "SMTP", 2), ("api", "API", 3),
                      ("legacy relay", "SMTP", 0.5)),
    "newsletters": (("campaigns smtp", "SMTP", 4), ("newsletter api", "API", 1)),
    "app": (("main smtp", "SMTP", 5), ("notifications api", "API", 3), ("crm smtp", "SMTP", 1)),
    "staging": (("staging smtp", "SMTP", 2), ("ci api", "API", 1)),
}
# fmt: on


def build_installation(rng: random.Random) -> Installation:
    """Build the demo installation: 2 organizations, 4 mail servers, 11 credentials.

    Only keys, tokens and client addresses come from ``rng``; names and shapes are fixed so
    that documentation and tests can refer to ``acme/transactional`` or ``"main smtp"``.
    """
    orgs = [Organization(1, "acme", "Acme Corp"), Organization(2, "globex", "Globex Ltd")]
    servers: list[MailServer] = []
    cred_id = 1
    message_base = 1_204_000
    for server_id, (org_index, permalink, name, mode, limit, share, profile, senders) in enumerate(
        _SERVERS, 1
    ):
        org = orgs[org_index]
        token = "".join(rng.choices(string.ascii_lowercase + string.digits, k=6))
        first_id = message_base + rng.randrange(50_000)
        srv = MailServer(server_id, org, permalink, name, token, mode, send_limit=limit, share=share,
                         profile=profile, senders=senders, next_message_id=first_id)  # fmt: skip
        message_base //= 3  # older servers have sent more
        for cname, ctype, weight in _CREDENTIALS[permalink]:
            subnet = rng.choice(("203.0.113", "198.51.100"))
            ips = tuple(f"{subnet}.{rng.randrange(2, 250)}" for _ in range(rng.randint(1, 3)))
            helo = f"{cname.split()[0]}-{rng.randrange(1, 9)}.{org.permalink}-app.example"
            key = random_key(rng)
            srv.credentials.append(Credential(cred_id, server_id, ctype, cname, key, weight=weight,
                                              client_ips=ips, helo=helo))  # fmt: skip
            cred_id += 1
        servers.append(srv)
    domains = [Domain(*spec) for spec in _DOMAINS]
    return Installation(orgs, servers, domains)

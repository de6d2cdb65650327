"""Write Postal databases with incidents in them, the way Postal writes them (not postaltop's simulator).

What a Postal installation leaves in its databases after weeks of traffic, built from a plain traffic
model (a weekday/weekend daily curve, Poisson counts) and Postal's own rules (facts in /work/shared/postal):

* ``messages`` + ``deliveries`` for the last ``message_hours`` (48 h): a message row at acceptance, its
  deliveries a few seconds later (Sent, HardFail, SoftFail then Sent, Sent then Bounced, Held), stamped
  with the delivery time; ``credential_id`` NULL for some mail (SMTP-IP relays);
* ``stats_hourly``/``stats_daily`` for 4 weeks: counted from those rows for the last 48 h, from the model
  (with noise) before that; ``outgoing`` at creation, ``bounces`` on HardFail/Bounced, ``held`` on Held;
* the ``live_stats`` ring (60 minute slots per type, old counts left in slots not touched for an hour), the
  send limit applied at "dequeue" exactly as Postal does (volume >= limit → Held "Message held because send
  limit (N) has been reached.", ``send_limit_exceeded_at`` stamped, no live_stats increment), held mail
  and a few queued rows.

Incidents (:class:`Incident`) change the traffic from their ``start``: a credential sending tens of times its
usual rate to never-seen domains, a server's volume growing to double over hours, a bounce storm, a burst
that runs into the send limit. :meth:`PostalWriter.build` writes everything up to ``now`` (incidents
already under way); :meth:`PostalWriter.append` writes a later stretch (incidents starting while
postaltop runs).
"""

# ruff: noqa: S608  # identifiers are the random `pt_<hex>` prefix and int ids; values are rendered literals

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pymysql

from tests.support.postal_builder import (
    DELIVERY_HEAD,
    MESSAGE_HEAD,
    QUEUE_INSERT,
    ServerSpec,
    _dt,
    _raw_table,
    _token,
    create_databases,
    insert_rows,
)

SEND_LIMIT_DETAILS = "Message held because send limit ({limit}) has been reached."
SUPPRESSION_DETAILS = "Recipient ({rcpt}) is on the suppression list (reason: too many hard fails)"
USUAL_DOMAINS = [
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "web.de",
    "orange.fr",
    "icloud.com",
    "gmx.de",
    "proton.me",
    "aol.com",
    "free.fr",
    "libero.it",
    "t-online.de",
]


def season(local: float) -> float:
    """Relative volume at local time ``local`` (epoch seconds shifted to the installation's time zone): a
    working-day curve peaking at 14:00, a quiet night, weekends at 40 %."""
    hour = (local % 86400) / 3600
    day = 0.15 + 0.85 * math.exp(-(((hour - 14.0) / 4.0) ** 2))
    weekday = datetime.fromtimestamp(local, UTC).weekday()
    return day * (0.4 if weekday >= 5 else 1.0)


def shift_to(now: float, weekday: int, hour: float) -> float:
    """Seconds to add to ``now`` so that it reads ``weekday`` (0 = Monday) at ``hour`` local time.

    The database clock is the real one, so tests choose the installation's time zone instead of the time.
    """
    week = 7 * 86400
    here = (now - 4 * 86400) % week  # 1970-01-05 was a Monday
    return (weekday * 86400 + hour * 3600 - here) % week


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (normal approximation above 30)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


@dataclass
class Cred:
    """A credential: its share of the server's mail and the recipient domains it usually mails."""

    id: int
    name: str
    share: float
    domains: list[str]
    kind: str = "SMTP"


@dataclass
class Server:
    """A mail server of the installation."""

    id: int
    org: str
    permalink: str
    peak_per_min: float
    """Outgoing messages per minute at a weekday's peak."""
    creds: list[Cred]
    send_limit: int | None = None
    has_db: bool = True
    stats: bool = True
    """False: no stats rows (a server with no history)."""
    no_credential_share: float = 0.05
    """Share of outgoing mail with a NULL credential_id."""


@dataclass
class Incident:
    """Something going wrong on one server from ``start`` (epoch seconds) on."""

    kind: str
    """``credential``, ``ramp``, ``bounce`` or ``send_limit``."""
    server_id: int
    start: float
    credential_id: int | None = None
    factor: float = 30.0
    """credential: multiple of the credential's usual rate (at least ``min_rate``/min); ramp: the volume
    multiple reached after ``ramp_hours``; send_limit: the multiple of the limit's hourly rate sent."""
    min_rate: float = 30.0
    domains: int = 300
    """credential: never-seen recipient domains mailed."""
    ramp_hours: float = 4.0
    fail_ratio: float = 0.45
    """bounce: share of deliveries that hard-fail."""
    end: float = math.inf
    """When it stopped (epoch seconds; never by default)."""

    def active(self, ts: float) -> bool:
        """True from ``start`` until ``end``."""
        return self.start <= ts < self.end


@dataclass
class _State:
    """What is being written for one server."""

    messages: list[tuple[Any, ...]] = field(default_factory=list)
    deliveries: list[tuple[float, int, str, int, str]] = field(default_factory=list)
    queue: list[tuple[Any, ...]] = field(default_factory=list)
    processed: deque[float] = field(default_factory=deque)
    """Outgoing processing times of the last hour (Postal's send volume)."""
    exceeded_at: float | None = None
    first_exceeded_at: float | None = None
    """When Postal first held a message for the send limit (the throttling's start)."""
    approaching_at: float | None = None
    next_msg: int = 1
    next_del: int = 1


class PostalWriter:
    """Builds and extends one installation; see the module docstring."""

    def __init__(
        self,
        conn: pymysql.Connection[Any],
        prefix: str,
        servers: list[Server],
        now: float,
        *,
        seed: int = 11,
        message_hours: float = 48.0,
        weeks: int = 4,
        future_rows: int = 0,
        shift: float = 0.0,
    ) -> None:
        self.conn = conn
        self.prefix = prefix
        self.servers = servers
        self.now = now
        self.rng = random.Random(seed)
        self.message_hours = message_hours
        self.weeks = weeks
        self.future_rows = future_rows
        self.shift = shift
        """Seconds from UTC to the installation's local time (:func:`shift_to`)."""
        self.state = {s.id: _State() for s in servers}
        self.spam_domains = [
            f"{_token(self.rng, 5)}-{word}.{tld}"
            for word in ("mailer", "promo", "deals", "inbox", "post")
            for tld in ("ru", "top", "xyz", "biz")
            for _ in range(40)
        ]
        self.rng.shuffle(self.spam_domains)

    # ------------------------------------------------------------------------------------------- build

    def db(self, server_id: int) -> str:
        """Backquoted message database of a server."""
        return f"`{self.prefix}-server-{server_id}`"

    def build(self, incidents: list[Incident]) -> None:
        """Create the databases and write everything up to ``now``."""
        specs = [ServerSpec(s.id, s.org, s.permalink, has_db=s.has_db) for s in self.servers]
        create_databases(self.conn, self.prefix, specs)
        self._main_rows()
        start = self.now - self.message_hours * 3600
        for server in self.servers:
            if not server.has_db:
                continue
            self._traffic(server, start, self.now, incidents)
            self._flush(server, old_stats=True)

    def append(self, t0: float, t1: float, incidents: list[Incident]) -> None:
        """Write the traffic of ``[t0, t1)`` (rows inserted while postaltop runs)."""
        for server in self.servers:
            if server.has_db:
                self._traffic(server, t0, t1, incidents)
                self._flush(server, old_stats=False)

    def _main_rows(self) -> None:
        created = _dt(self.now - 400 * 86400)
        orgs = sorted({s.org for s in self.servers})
        with self.conn.cursor() as cur:
            cur.execute(f"USE `{self.prefix}`")
            cur.executemany(
                "INSERT INTO organizations (id, uuid, name, permalink, time_zone, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, 'UTC', %s, %s)",
                [(i + 1, _token(self.rng, 36), o.title(), o, created, created) for i, o in enumerate(orgs)],
            )
            cur.executemany(
                "INSERT INTO servers (id, organization_id, uuid, name, mode, created_at, updated_at, "
                "permalink, send_limit, token, message_retention_days) "
                "VALUES (%s, %s, %s, %s, 'Live', %s, %s, %s, %s, %s, 60)",
                [
                    (
                        s.id,
                        orgs.index(s.org) + 1,
                        _token(self.rng, 36),
                        s.permalink.title(),
                        created,
                        created,
                        s.permalink,
                        s.send_limit,
                        _token(self.rng, 6),
                    )
                    for s in self.servers
                ],
            )
            cur.executemany(
                "INSERT INTO credentials (id, server_id, `key`, type, name, created_at, updated_at, uuid) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (c.id, s.id, _token(self.rng, 24), c.kind, c.name, created, created, _token(self.rng, 36))
                    for s in self.servers
                    for c in s.creds
                ],
            )

    # ----------------------------------------------------------------------------------------- traffic

    def _traffic(self, server: Server, t0: float, t1: float, incidents: list[Incident]) -> None:
        mine = [i for i in incidents if i.server_id == server.id]
        minute = math.floor(t0 / 60) * 60
        while minute < t1:
            base = server.peak_per_min * season(minute + 30 + self.shift)
            factor = 1.0
            for inc in mine:
                if inc.kind == "ramp" and inc.active(minute):
                    progress = min(1.0, (minute - inc.start) / (inc.ramp_hours * 3600))
                    factor *= 1 + (inc.factor - 1) * progress
            for ts in self._times(poisson(self.rng, base * factor), minute, t0, t1):
                self._message(server, ts, self._pick_cred(server), None, mine, t1)
            for inc in mine:
                if not inc.active(minute):
                    continue
                if inc.kind == "credential":
                    cred = next(c for c in server.creds if c.id == inc.credential_id)
                    rate = max(inc.min_rate, inc.factor * base * cred.share)
                    pool = self.spam_domains[: inc.domains]
                    for ts in self._times(
                        poisson(self.rng, rate), minute, max(t0, inc.start), min(t1, inc.end)
                    ):
                        self._message(server, ts, cred, self.rng.choice(pool), mine, t1)
                elif inc.kind == "send_limit" and server.send_limit:
                    rate = inc.factor * server.send_limit / 60.0
                    for ts in self._times(
                        poisson(self.rng, rate), minute, max(t0, inc.start), min(t1, inc.end)
                    ):
                        self._message(server, ts, self._pick_cred(server), None, mine, t1)
            minute += 60

    def _times(self, n: int, minute: float, lo: float, hi: float) -> list[float]:
        out = sorted(minute + self.rng.random() * 60 for _ in range(n))
        return [t for t in out if lo <= t < hi]

    def _pick_cred(self, server: Server) -> Cred | None:
        if self.rng.random() < server.no_credential_share or not server.creds:
            return None
        return self.rng.choices(server.creds, [c.share for c in server.creds])[0]

    def _message(
        self,
        server: Server,
        ts: float,
        cred: Cred | None,
        domain: str | None,
        incidents: list[Incident],
        end: float,
    ) -> None:
        rng, st = self.rng, self.state[server.id]
        if domain is None:
            domains = cred.domains if cred is not None else USUAL_DOMAINS
            domain = rng.choice(domains[: max(1, len(domains))])
        rcpt = f"{_token(rng, 7)}@{domain}"
        msg_id = st.next_msg
        st.next_msg += 1
        first = min(ts + rng.uniform(1.0, 8.0), end - 0.001) if end > ts else ts
        steps = self._outcome(server, first, rcpt, incidents)
        status, last = "Pending", None
        for at, status, code, details in steps:
            if at >= end:
                break
            last = at
            st.deliveries.append((at, msg_id, status, code, details))
        if last is None:
            status = "Pending"
            st.queue.append(
                (server.id, msg_id, domain, None, None, None, _dt(ts), _dt(ts), 0, f"outgoing-{domain}")
            )
        held = 1 if status == "Held" else 0
        st.messages.append(
            (
                msg_id,
                _token(rng, 16),
                "outgoing",
                rcpt,
                f"app@{server.permalink}.example",
                f"Subject {msg_id}",
                f"<{_token(rng, 12)}@{server.permalink}.example>",
                round(ts, 6),
                cred.id if cred else None,
                status,
                held,
                str(rng.randint(2_000, 60_000)),
                round(last, 6) if last else None,
                _raw_table(ts),
                0,
                0.4,
                round(last + 7 * 86400, 6) if held and last else None,
            )
        )

    def _outcome(
        self, server: Server, at: float, rcpt: str, incidents: list[Incident]
    ) -> list[tuple[float, str, int, str]]:
        """Postal's dequeue (send limit, then the remote's answer): ``(time, status, code, details)``."""
        rng, st = self.rng, self.state[server.id]
        if server.send_limit is not None:
            threshold = math.floor((at - 3600) / 60) * 60
            while st.processed and st.processed[0] <= threshold:
                st.processed.popleft()
            volume = len(st.processed)
            if volume >= server.send_limit:
                st.exceeded_at = at
                st.first_exceeded_at = st.first_exceeded_at or at
                return [(at, "Held", 0, SEND_LIMIT_DETAILS.format(limit=server.send_limit))]
            st.approaching_at = at if volume >= 0.9 * server.send_limit else None
        st.processed.append(at)
        if any(i.kind == "bounce" and i.active(at) for i in incidents) and rng.random() < max(
            i.fail_ratio for i in incidents if i.kind == "bounce"
        ):
            return [(at, "HardFail", 550, "550 5.1.1 user unknown")]
        roll = rng.random()
        if roll < 0.002:
            return [(at, "Held", 0, SUPPRESSION_DETAILS.format(rcpt=rcpt))]
        if roll < 0.02:
            return [(at, "HardFail", 550, "550 5.1.1 user unknown")]
        if roll < 0.05:
            return [(at, "SoftFail", 451, "451 try later"), (at + 300, "Sent", 250, "250 OK")]
        if roll < 0.06:
            return [(at, "Sent", 250, "250 OK"), (at + 600, "Bounced", 0, "bounce received")]
        return [(at, "Sent", 250, "250 OK")]

    # ------------------------------------------------------------------------------------------ writing

    def _flush(self, server: Server, *, old_stats: bool) -> None:
        st = self.state[server.id]
        db = self.db(server.id)
        deliveries = sorted(st.deliveries)
        rows = [
            (
                st.next_del + i,
                msg,
                status,
                code or None,
                f"{code} reply" if code else None,
                details,
                _token(self.rng, 8).upper(),
                round(ts, 6),
                0.3,
            )
            for i, (ts, msg, status, code, details) in enumerate(deliveries)
        ]
        st.next_del += len(rows)
        with self.conn.cursor() as cur:
            if st.messages:
                insert_rows(cur, MESSAGE_HEAD.replace("{db}", db), st.messages)
            if rows:
                insert_rows(cur, DELIVERY_HEAD.replace("{db}", db), rows)
            if old_stats and self.future_rows:
                future = [
                    (
                        st.next_msg + i,
                        _token(self.rng, 16),
                        "outgoing",
                        f"x@{USUAL_DOMAINS[0]}",
                        "a@b.example",
                        "future",
                        "<f@x>",
                        round(self.now + 7200 + i, 6),
                        None,
                        "Sent",
                        0,
                        "100",
                        None,
                        _raw_table(self.now),
                        0,
                        0.0,
                        None,
                    )
                    for i in range(self.future_rows)
                ]
                insert_rows(cur, MESSAGE_HEAD.replace("{db}", db), future)
                st.next_msg += self.future_rows
            if server.stats:
                self._stats(cur, db, server, st, deliveries, old_stats)
            self._live_stats(cur, db, st)
            cur.execute(f"USE `{self.prefix}`")
            if st.queue:
                cur.executemany(QUEUE_INSERT, st.queue)
            cur.execute(
                "UPDATE servers SET send_limit_exceeded_at = %s, send_limit_approaching_at = %s "
                "WHERE id = %s",
                (_dt(st.exceeded_at), _dt(st.approaching_at), server.id),
            )
        st.messages, st.deliveries, st.queue = [], [], []

    def _stats(
        self, cur: Any, db: str, server: Server, st: _State, deliveries: list[tuple[Any, ...]], old: bool
    ) -> None:
        buckets: dict[tuple[str, int], dict[str, int]] = {}

        def bump(ts: float, name: str, n: int = 1) -> None:
            for table, size in (("hourly", 3600), ("daily", 86400)):
                b = buckets.setdefault((table, int(ts - ts % size)), {})
                b[name] = b.get(name, 0) + n

        for m in st.messages:
            bump(float(m[7]), "outgoing")
        for ts, _msg, status, _code, _details in deliveries:
            if status == "Held":
                bump(ts, "held")
            elif status in ("HardFail", "Bounced"):
                bump(ts, "bounces")
        if old:
            first = self.now - self.message_hours * 3600
            hour = math.floor((self.now - self.weeks * 7 * 86400) / 3600) * 3600
            rng = random.Random(f"stats-{server.id}")
            while hour + 3600 <= first:
                expected = 60 * server.peak_per_min * season(hour + 1800 + self.shift)
                outgoing = max(0, round(expected * rng.uniform(0.85, 1.15)))
                bump(hour, "outgoing", outgoing)
                bump(hour, "bounces", round(outgoing * 0.03))
                hour += 3600
        for (table, t), b in sorted(buckets.items()):
            cur.execute(
                f"INSERT INTO {db}.stats_{table} (time, outgoing, bounces, held) VALUES (%s, %s, %s, %s) "
                "ON DUPLICATE KEY UPDATE outgoing = COALESCE(outgoing, 0) + VALUES(outgoing), "
                "bounces = COALESCE(bounces, 0) + VALUES(bounces), held = COALESCE(held, 0) + VALUES(held)",
                (t, b.get("outgoing", 0), b.get("bounces", 0), b.get("held", 0)),
            )

    def _live_stats(self, cur: Any, db: str, st: _State) -> None:
        """The ring as Postal leaves it: the last hour's processing per minute slot, old counts elsewhere."""
        slots: dict[int, list[float]] = {}
        for at in st.processed:
            slot = slots.setdefault(int(at // 60) % 60, [0, 0.0])
            slot[0] += 1
            slot[1] = max(slot[1], at)
        cur.execute(f"DELETE FROM {db}.live_stats WHERE type = 'outgoing'")
        rows = []
        for minute in range(60):
            count, last = slots.get(minute, [5, self.now - 5400 - minute * 60])
            rows.append(("outgoing", minute, int(count), round(last, 6)))
        cur.executemany(
            f"INSERT INTO {db}.live_stats (type, minute, count, timestamp) VALUES (%s, %s, %s, %s)", rows
        )


def installation(first_server: int = 1) -> list[Server]:
    """Five servers whose credentials mail their own usual domains (server ids from ``first_server``)."""
    sid = first_server
    out: list[Server] = []
    names = [
        ("acme", "app", 12.0, None),
        ("globex", "shop", 20.0, None),
        ("initech", "mail", 15.0, None),
        ("hooli", "bulk", 6.0, 600),
        ("umbrella", "notify", 8.0, 2000),
    ]
    cid = first_server * 10
    for org, perm, peak, limit in names:
        creds = []
        for j, (name, share) in enumerate((("smtp", 0.6), ("api", 0.3), ("relay", 0.1))):
            cid += 1
            domains = USUAL_DOMAINS[j * 2 : j * 2 + 6]
            creds.append(Cred(cid, f"{perm} {name}", share, domains, "API" if name == "api" else "SMTP"))
        out.append(Server(sid, org, perm, peak, creds, send_limit=limit))
        sid += 1
    return out

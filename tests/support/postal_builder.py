"""Fill a main DB and per-server message DBs with realistic, deterministic Postal data.

Default test layout (:func:`default_layout`), built in ~2.5 s on an idle 2-core test machine (~1.4 s of
it is CREATE TABLE; up to ~10 s while other suites load the same MariaDB):

* 4 organizations (one suspended, one soft-deleted), 8 servers: Live and Development, one suspended
  server, one in the suspended org, one whose message DB is missing, one soft-deleted and one in the
  deleted org, send limits (one near its limit); 5 message DBs;
* 2-3 credentials per server (SMTP, API, SMTP-IP);
* 4 weeks of messages with daily (peak mid-afternoon UTC) and weekly (quiet weekends) seasonality:
  ~13,300 messages and ~15,000 deliveries in total, plus a denser last hour;
* ``stats_hourly``/``stats_daily`` aggregated from exactly those messages (so they agree with them),
  ``live_stats`` for the last hour, queued messages (some locked, some retrying) and held messages.

Everything derives from ``seed`` and ``now``. Rows go in with multi-row INSERTs of up to ~1 MB each
(:func:`insert_rows`; literals are rendered by the builder, which only ever renders its own values).
"""

# ruff: noqa: S608  # identifiers are built from the random `pt_<hex>` prefix and int ids; values are parameters

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pymysql

SCHEMA_PATH = Path(__file__).with_name("postal_schema.sql")
_DOMAINS = [
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "example.org",
    "corp.example",
    "mail.ru",
    "web.de",
    "icloud.com",
]
_DOMAIN_WEIGHTS = [30, 12, 18, 8, 5, 3, 4, 6]


@dataclass
class ServerSpec:
    """One server of the layout."""

    id: int
    org: str
    permalink: str
    mode: str = "Live"
    send_limit: int | None = None
    suspended_reason: str | None = None
    deleted: bool = False
    has_db: bool = True
    per_hour: float = 10.0
    """Average messages per hour over the 4 weeks (before seasonality)."""
    last_hour_per_min: float = 2.0
    """Messages per minute during the last hour."""


@dataclass
class Dataset:
    """What was built, for tests to know what to expect."""

    prefix: str
    now: float
    servers: dict[int, ServerSpec]
    credentials: dict[int, tuple[int, str, str]] = field(default_factory=dict)
    """credential id -> (server id, name, type)."""
    messages: int = 0
    deliveries: int = 0
    seconds: float = 0.0

    @property
    def main_db(self) -> str:
        """Name of the main database."""
        return self.prefix

    def message_db(self, server_id: int) -> str:
        """Backquoted message DB of a server."""
        return f"`{self.prefix}-server-{server_id}`"

    def live_ids(self) -> list[int]:
        """Servers that are not soft-deleted (nor in a deleted organization)."""
        return sorted(s.id for s in self.servers.values() if not s.deleted)


ORGS = {"acme": None, "globex": None, "initech": "Unpaid invoice", "oldco": None}
DELETED_ORGS = {"oldco"}


def default_layout() -> list[ServerSpec]:
    """The layout the DB tests use (see module docstring)."""
    return [
        ServerSpec(1, "acme", "main", send_limit=5000, per_hour=14, last_hour_per_min=3),
        ServerSpec(2, "acme", "marketing", send_limit=300, per_hour=10, last_hour_per_min=4),
        ServerSpec(3, "globex", "transactional", mode="Development", per_hour=4, last_hour_per_min=1),
        ServerSpec(
            4, "globex", "newsletters", send_limit=100, suspended_reason="Spam complaints", per_hour=6
        ),
        ServerSpec(5, "initech", "app", per_hour=6, last_hour_per_min=1),
        ServerSpec(6, "acme", "ghost", has_db=False),
        ServerSpec(7, "oldco", "legacy", has_db=False),
        ServerSpec(8, "acme", "retired", deleted=True, has_db=False),
    ]


def bench_layout(servers: int, messages_per_server: int) -> list[ServerSpec]:
    """``servers`` Live servers sized to about ``messages_per_server`` messages each over 4 weeks."""
    now = time.time()
    mean = sum(seasonality(now - h * 3600) for h in range(28 * 24)) / (28 * 24)
    per_hour = (messages_per_server - 120) / (28 * 24 * mean)  # 120 = the last hour's 2 messages/minute
    return [
        ServerSpec(i, "acme" if i % 2 else "globex", f"srv{i}", send_limit=20_000, per_hour=per_hour)
        for i in range(1, servers + 1)
    ]


def schema_sections() -> dict[str, list[str]]:
    """The statements of ``postal_schema.sql`` by section (``main``, ``message``)."""
    sections: dict[str, list[str]] = {"main": [], "message": []}
    current: list[str] | None = None
    buffer: list[str] = []
    for line in SCHEMA_PATH.read_text().splitlines():
        stripped = line.strip()
        if stripped in ("-- @main", "-- @message"):
            current = sections[stripped[4:]]
            continue
        if current is None or stripped.startswith("--") or not stripped:
            continue
        buffer.append(line)
        if stripped.endswith(";"):
            current.append("\n".join(buffer).rstrip(";"))
            buffer = []
    return sections


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def _token(rng: random.Random, n: int) -> str:
    # Hex of random bits: ~10x faster than choices() and just as good for tokens in test data.
    return f"{rng.getrandbits(4 * n):0{n}x}"


_DAY_NAMES: dict[int, str] = {}


def _raw_table(ts: float) -> str:
    day = int(ts // 86400)
    name = _DAY_NAMES.get(day)
    if name is None:
        name = _DAY_NAMES[day] = f"raw-{datetime.fromtimestamp(day * 86400, UTC):%Y-%m-%d}"
    return name


def _sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"'{value:%Y-%m-%d %H:%M:%S.%f}'"
    return "'" + pymysql.converters.escape_string(str(value)) + "'"


def insert_rows(cur: Any, head: str, rows: list[tuple[Any, ...]], max_bytes: int = 1_000_000) -> None:
    """``head`` + ``VALUES (...), (...)`` in statements of at most ~``max_bytes`` (fast multi-row INSERT)."""
    chunk: list[str] = []
    size = 0
    for row in rows:
        text = "(" + ", ".join(map(_sql_literal, row)) + ")"
        chunk.append(text)
        size += len(text) + 2
        if size >= max_bytes:
            cur.execute(head + " VALUES " + ", ".join(chunk))
            chunk, size = [], 0
    if chunk:
        cur.execute(head + " VALUES " + ", ".join(chunk))


def seasonality(ts: float) -> float:
    """Relative volume at ``ts``: a mid-afternoon (UTC) daily peak and quiet weekends."""
    hour = (ts % 86400) / 3600
    daily = 0.25 + 0.75 * max(0.0, math.sin(math.pi * (hour - 6) / 15)) if 6 <= hour <= 21 else 0.25
    weekday = datetime.fromtimestamp(ts, UTC).weekday()
    return daily * (0.45 if weekday >= 5 else 1.0)


MESSAGE_COLLATION = "utf8mb4_unicode_ci"
"""Postal provisions message DBs with this collation (main DB tables are dumped as general_ci)."""


def _clone(conn: pymysql.Connection[Any]) -> pymysql.Connection[Any]:
    return pymysql.connect(
        host=conn.host,
        port=conn.port,
        user=conn.user,
        password=conn.password,
        autocommit=True,
        charset="utf8mb4",
    )


def _create_one(conn: pymysql.Connection[Any], name: str, collation: str, statements: list[str]) -> None:
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE {collation}")
        cur.execute(f"USE `{name}`")
        for statement in statements:
            cur.execute(statement)
        if collation == MESSAGE_COLLATION:
            cur.executemany("INSERT INTO migrations (version) VALUES (%s)", [(v,) for v in range(1, 21)])


def create_databases(
    conn: pymysql.Connection[Any], prefix: str, layout: list[ServerSpec], workers: int = 4
) -> None:
    """Create the main DB and the message DBs of ``layout`` with the project's schema.

    CREATE TABLE is bound by file creation and fsync on the server, so databases are created on a few
    connections in parallel (about 2x faster on the test machines).
    """
    sections = schema_sections()
    jobs = [(prefix, "utf8mb4_general_ci", sections["main"])]
    jobs += [(f"{prefix}-server-{s.id}", MESSAGE_COLLATION, sections["message"]) for s in layout if s.has_db]

    def run(chunk: list[tuple[str, str, list[str]]]) -> None:
        own = _clone(conn)
        try:
            for job in chunk:
                _create_one(own, *job)
        finally:
            own.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(run, jobs[i::workers]) for i in range(min(workers, len(jobs)))]:
            future.result()


class _ServerTraffic:
    """Messages, deliveries and queue rows of one server, generated in time order."""

    def __init__(self, spec: ServerSpec, cred_ids: list[int], rng: random.Random, now: float) -> None:
        self.spec, self.cred_ids, self.rng, self.now = spec, cred_ids, rng, now
        self.messages: list[tuple[Any, ...]] = []
        self.deliveries: list[tuple[float, int, str, int, str]] = []
        self.queue: list[tuple[Any, ...]] = []

    def generate(self, weeks: int) -> None:
        start = self.now - weeks * 7 * 86400
        hour = start - start % 3600
        while hour < self.now - 3600:
            expected = self.spec.per_hour * seasonality(hour + 1800)
            count = max(0, round(self.rng.gauss(expected, math.sqrt(expected + 1))))
            for ts in sorted(hour + self.rng.random() * 3600 for _ in range(count)):
                self.add_message(ts, recent=False)
            hour += 3600
        n_last = round(self.spec.last_hour_per_min * 60)
        for ts in sorted(self.now - 3600 + self.rng.random() * 3595 for _ in range(n_last)):
            self.add_message(ts, recent=True)

    def add_message(self, ts: float, recent: bool) -> None:
        rng, spec = self.rng, self.spec
        msg_id = len(self.messages) + 1
        scope = "incoming" if rng.random() < 0.15 else "outgoing"
        domain = rng.choices(_DOMAINS, _DOMAIN_WEIGHTS)[0]
        rcpt = f"{_token(rng, 6).lower()}@{domain}"
        cred = rng.choice(self.cred_ids) if scope == "outgoing" and self.cred_ids else None
        spam = 1 if scope == "outgoing" and rng.random() < 0.01 else 0
        steps: list[tuple[float, str, int]] = []  # (delay, status, smtp code)
        queued: tuple[int, bool] | None = None  # (attempts, locked)
        suspended_since = self.now - 2 * 86400
        if scope == "incoming":
            steps = [(1.0, "Processed", 0)]
        elif spec.mode == "Development" or (spec.suspended_reason and ts > suspended_since):
            steps = [(1.0, "Held", 0)]
        elif spam:
            steps = [(2.0, "HardFail", 550)]
        else:
            roll = rng.random()
            if recent and ts > self.now - 300 and roll < 0.25:
                steps, queued = [], (0, rng.random() < 0.3)  # still waiting / being processed
            elif recent and roll < 0.05:
                steps, queued = [(3.0, "SoftFail", 451)], (rng.randint(1, 3), False)
            elif roll < 0.88:
                steps = [(2.0, "Sent", 250)]
            elif roll < 0.93:
                steps = [(2.0, "SoftFail", 451), (400.0, "Sent", 250)]
            elif roll < 0.96:
                steps = [(2.0, "HardFail", 550)]
            elif roll < 0.98:
                steps = [(2.0, "Sent", 250), (900.0, "Bounced", 0)]
            else:
                steps = [(1.0, "Held", 0)]
        last_ts, status = None, "Pending"
        for delay, status, code in steps:
            last_ts = ts + delay
            if last_ts > self.now:
                last_ts = self.now - rng.random()
            self.deliveries.append((last_ts, msg_id, status, code, _token(rng, 8).upper()))
        if status == "Held" and ts < self.now - 7 * 86400:
            # Holds expire after 7 days: Postal then records HoldCancelled.
            last_ts = ts + 7 * 86400
            self.deliveries.append((last_ts, msg_id, "HoldCancelled", 0, _token(rng, 8).upper()))
            status = "HoldCancelled"
        held = 1 if status == "Held" else 0
        self.messages.append(
            (msg_id, _token(rng, 16), scope, rcpt, f"app@{spec.permalink}.example", f"Subject {msg_id}",
             f"<{_token(rng, 12)}@{spec.permalink}.example>", round(ts, 6), cred, status, held,
             str(rng.randint(2_000, 90_000)), last_ts, _raw_table(ts), spam,
             round(rng.uniform(0, 3) + 7 * spam, 2), round(ts + 7 * 86400, 6) if held else None)
        )  # fmt: skip
        if queued is not None:
            attempts, locked = queued
            retry_after = _dt(self.now + 300 * 1.3**attempts) if attempts else None
            self.queue.append(
                (spec.id, msg_id, domain, "worker-1:thread-2" if locked else None,
                 _dt(self.now - rng.random() * 3) if locked else None, retry_after, _dt(ts), _dt(ts),
                 attempts, f"outgoing-{domain}")
            )  # fmt: skip


MESSAGE_HEAD = (
    "INSERT INTO {db}.messages (id, token, scope, rcpt_to, mail_from, subject, message_id, timestamp, "
    "credential_id, status, held, size, last_delivery_attempt, raw_table, spam, spam_score, hold_expiry)"
)
DELIVERY_HEAD = (
    "INSERT INTO {db}.deliveries (id, message_id, status, code, output, details, log_id, timestamp, time)"
)
QUEUE_INSERT = (
    "INSERT INTO queued_messages (server_id, message_id, domain, locked_by, locked_at, retry_after, "
    "created_at, updated_at, attempts, batch_key) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def _insert_traffic(cur: Any, prefix: str, traffic: _ServerTraffic) -> None:
    db = f"`{prefix}-server-{traffic.spec.id}`"
    insert_rows(cur, MESSAGE_HEAD.replace("{db}", db), traffic.messages)
    traffic.deliveries.sort()
    rows = [
        (i, msg_id, status, code or None, f"{code} ok" if code else None, f"{status} by builder", log_id,
         round(ts, 6), 0.42)
        for i, (ts, msg_id, status, code, log_id) in enumerate(traffic.deliveries, start=1)
    ]  # fmt: skip
    insert_rows(cur, DELIVERY_HEAD.replace("{db}", db), rows)
    _insert_stats(cur, db, traffic)


def _insert_stats(cur: Any, db: str, traffic: _ServerTraffic) -> None:
    """stats_hourly/daily from the generated rows; live_stats for the last hour (Postal's semantics)."""
    stats: dict[str, dict[int, dict[str, int]]] = {"hourly": defaultdict(dict), "daily": defaultdict(dict)}
    scope_of = {m[0]: m[2] for m in traffic.messages}

    def bump(ts: float, fieldname: str) -> None:
        for table, size in (("hourly", 3600), ("daily", 86400)):
            bucket = stats[table][int(ts - ts % size)]
            bucket[fieldname] = bucket.get(fieldname, 0) + 1

    for m in traffic.messages:
        bump(float(m[7]), m[2])
    for ts, _msg, status, _code, _log in traffic.deliveries:
        if status == "Held":
            bump(ts, "held")
        elif status in ("Bounced", "HardFail"):
            bump(ts, "bounces")
    for table, buckets in stats.items():
        # Postal upserts one field at a time, so a counter never touched stays NULL (spam always is).
        rows = [
            (t, b.get("incoming"), b.get("outgoing"), None, b.get("bounces"), b.get("held"))
            for t, b in buckets.items()
        ]
        cur.executemany(
            f"INSERT INTO {db}.stats_{table} (time, incoming, outgoing, spam, bounces, held) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            sorted(rows),
        )  # fmt: skip
    live: dict[tuple[str, int], list[float]] = {}
    now = traffic.now
    for ts, msg_id, status, _code, _log in traffic.deliveries:
        # live_stats counts processing attempts (not HoldCancelled/Bounced, which are not worker passes).
        if ts > now - 3600 and status in ("Sent", "SoftFail", "HardFail", "Held", "Processed"):
            key = (scope_of[msg_id], int(ts // 60) % 60)
            slot = live.setdefault(key, [0, 0.0])
            slot[0] += 1
            slot[1] = max(slot[1], ts)
    # Slots untouched in the last hour still hold old counts (ring buffer): they must not be counted.
    for minute in range(60):
        for kind in ("outgoing", "incoming"):
            live.setdefault((kind, minute), [7, now - 7200 - minute * 60 - (minute * 7) % 60])
    cur.executemany(
        f"INSERT INTO {db}.live_stats (type, minute, count, timestamp) VALUES (%s, %s, %s, %s)",
        [(k, m, int(v[0]), round(v[1], 6)) for (k, m), v in sorted(live.items())],
    )


def build(
    conn: pymysql.Connection[Any],
    prefix: str,
    *,
    seed: int = 7,
    now: float | None = None,
    layout: list[ServerSpec] | None = None,
    weeks: int = 4,
) -> Dataset:
    """Create and fill ``prefix`` (main DB) and ``prefix-server-<id>`` (message DBs)."""
    started = time.perf_counter()
    now = time.time() if now is None else now
    layout = layout if layout is not None else default_layout()
    rng = random.Random(seed)
    create_databases(conn, prefix, layout)
    data = Dataset(prefix, now, {s.id: s for s in layout})
    with conn.cursor() as cur:
        cur.execute(f"USE `{prefix}`")
        created = _dt(now - 400 * 86400)
        orgs = list(ORGS)
        cur.executemany(
            "INSERT INTO organizations (id, uuid, name, permalink, time_zone, created_at, updated_at, "
            "deleted_at, suspended_at, suspension_reason) VALUES (%s, %s, %s, %s, 'UTC', %s, %s, %s, %s, %s)",
            [(i + 1, _token(rng, 36), o.title(), o, created, created,
              _dt(now - 86400) if o in DELETED_ORGS else None,
              _dt(now - 3 * 86400) if ORGS[o] else None, ORGS[o]) for i, o in enumerate(orgs)],
        )  # fmt: skip
        cur.executemany(
            "INSERT INTO servers (id, organization_id, uuid, name, mode, created_at, updated_at, permalink, "
            "send_limit, deleted_at, token, suspended_at, suspension_reason, message_retention_days) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 60)",
            [(s.id, orgs.index(s.org) + 1, _token(rng, 36), s.permalink.title(), s.mode, created, created,
              s.permalink, s.send_limit, _dt(now - 86400) if s.deleted else None, _token(rng, 6).lower(),
              _dt(now - 2 * 86400) if s.suspended_reason else None, s.suspended_reason) for s in layout],
        )  # fmt: skip
        cred_rows = []
        per_server: dict[int, list[int]] = {}
        for s in layout:
            for name, kind in (("main smtp", "SMTP"), ("api", "API"), ("office ip", "SMTP-IP"))[
                : 2 + s.id % 2
            ]:
                cid = len(cred_rows) + 1
                key = "10.0.0.0/24" if kind == "SMTP-IP" else _token(rng, 24)
                cred_rows.append(
                    (cid, s.id, key, kind, f"{s.permalink} {name}", created, created, _token(rng, 36))
                )
                per_server.setdefault(s.id, []).append(cid)
                data.credentials[cid] = (s.id, f"{s.permalink} {name}", kind)
        cur.executemany(
            "INSERT INTO credentials (id, server_id, `key`, type, name, created_at, updated_at, uuid) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            cred_rows,
        )
        for s in layout:
            if not s.has_db:
                continue
            traffic = _ServerTraffic(s, per_server[s.id], rng, now)
            traffic.generate(weeks)
            _insert_traffic(cur, prefix, traffic)
            cur.execute(f"USE `{prefix}`")
            if traffic.queue:
                cur.executemany(QUEUE_INSERT, traffic.queue)
            data.messages += len(traffic.messages)
            data.deliveries += len(traffic.deliveries)
    data.seconds = time.perf_counter() - started
    return data


def add_traffic(
    conn: pymysql.Connection[Any],
    prefix: str,
    server_id: int,
    rows: list[tuple[str, int | None, str, str | None, int]],
    now: float | None = None,
) -> tuple[int, int]:
    """Append messages (and their deliveries) as Postal would while running.

    Args:
        rows: ``(scope, credential_id, rcpt_to, delivery_status or None, spam)`` per message.

    Returns:
        The number of messages and deliveries inserted.
    """
    now = time.time() if now is None else now
    db = f"`{prefix}-server-{server_id}`"
    with conn.cursor() as cur:
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {db}.messages")
        first = int(cur.fetchone()[0]) + 1
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {db}.deliveries")
        next_delivery = int(cur.fetchone()[0]) + 1
        messages, deliveries = [], []
        for i, (scope, cred, rcpt, status, spam) in enumerate(rows):
            msg_id = first + i
            messages.append(
                (msg_id, f"t{msg_id}", scope, rcpt, "app@example.com", "live", f"<{msg_id}@x>", round(now, 6),
                 cred, status or "Pending", int(status == "Held"), "1234", round(now, 6) if status else None,
                 "raw-today", spam, 0, None)
            )  # fmt: skip
            if status:
                deliveries.append(
                    (next_delivery, msg_id, status, 250, None, "live", "ABCDEFGH", round(now, 6), 0.1)
                )
                next_delivery += 1
        insert_rows(cur, MESSAGE_HEAD.replace("{db}", db), messages)
        if deliveries:
            insert_rows(cur, DELIVERY_HEAD.replace("{db}", db), deliveries)
    return len(messages), len(deliveries)

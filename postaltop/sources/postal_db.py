"""The Postal database source: discovery, the poll loop and history, over an aiomysql pool.

Shape of one poll cycle (``poll_once``), all reads, all bounded by one deadline (``query_timeout``):

* main DB: live servers + organizations (tiny tables), queue figures per server (index range);
* per server, concurrently on the pool: one scalar round trip (DB clock, newest ids, held total,
  live_stats volumes) and, when rows arrived, the id-window aggregations of ``messages`` and
  ``deliveries`` (PK ranges — Postal indexes neither ``timestamp`` nor ``credential_id``).

A server whose queries fail or outlive the deadline keeps its last good figures, flagged stale with their
age; the other servers are unaffected. The loop (:meth:`PostalDbSource.samples`) never raises: when the
database cannot be reached it yields a status result and retries with exponential backoff and jitter.

Connections come from :class:`~postaltop.sources.db_connect.DbConnector` (login, TLS, the SSH tunnel, the
handshake deadline), the same factory every other database path uses. Each result carries the database's
state (:data:`~postaltop.core.dbmetrics.DB_STATES`): a server that accepts but never answers is
``not-answering`` with the outage's age, told apart from ``refused`` and ``auth-failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomysql
import pymysql

from postaltop.config import DatabaseConfig
from postaltop.core import connect_state as cs
from postaltop.core import dbmetrics as dm
from postaltop.core.connect_state import HELD_REASONS
from postaltop.sources import db_queries as q
from postaltop.sources.db_connect import DbConnector, NotAnswering

_LOST_CONNECTION = {0, 2006, 2013, 2014, 2055}
_UNREACHABLE = {2002, 2003, 2005, 2026}
_DENIED = {1044, 1142, 1143}
_MISSING = {1049, 1146}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class QueryTimeout(Exception):
    """A statement did not finish before the cycle's deadline."""


def clean_error(exc: BaseException, limit: int = 300) -> str:
    """A one-line, control-character-free description of an error (DB text is untrusted)."""
    if isinstance(exc, pymysql.err.MySQLError) and len(exc.args) >= 2:
        text = f"({exc.args[0]}) {exc.args[1]}"
        cause = exc.__cause__
        if isinstance(cause, OSError) and str(cause) and str(cause) not in text:
            text += f" ({cause})"  # e.g. [Errno 111] for a refused connection
    else:
        text = str(exc) or type(exc).__name__
    text = _CONTROL.sub(" ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_code(exc: BaseException) -> int | None:
    """The MySQL error number of ``exc``, if it carries one."""
    if isinstance(exc, pymysql.err.MySQLError) and exc.args and isinstance(exc.args[0], int):
        return exc.args[0]
    return None


@dataclass(slots=True)
class _Cursor:
    """Where a server's id windows stand."""

    message_id: int
    delivery_id: int
    db_now: float


@dataclass(slots=True)
class _Raw:
    """What was read for one server in one cycle, before it becomes a sample."""

    db_now: float
    max_msg: int
    max_del: int
    held: int
    out60: int
    in60: int
    from_msg: int
    from_del: int
    min_ts: float
    seconds: float
    msg_rows: list[tuple[Any, ...]] = field(default_factory=list)
    """``(scope, credential_id, rcpt_domain, count)`` of rows stamped up to the database clock."""
    del_rows: list[tuple[Any, ...]] = field(default_factory=list)
    """``(status, spam, held_reason, held_credential_id, count)`` likewise."""
    future: int = 0
    """Rows of the window stamped after the database clock (+ tolerance): counted, not used."""

    def take_messages(self, rows: Sequence[Sequence[Any]]) -> None:
        """Keep ``(scope, credential_id, domain, future, count)`` rows; count the future ones."""
        for scope, cred, domain, future, count in rows:
            if future:
                self.future += int(count)
            else:
                self.msg_rows.append((scope, cred, domain, count))

    def take_deliveries(self, rows: Sequence[Sequence[Any]]) -> None:
        """Keep ``(status, spam, reason, held_credential_id, future, count)`` rows; count the future ones."""
        for status, spam, reason, cred, future, count in rows:
            if future:
                self.future += int(count)
            else:
                self.del_rows.append((status, spam, reason, cred, count))


FUTURE_TOLERANCE = 60.0
"""Seconds a row may be stamped after the database clock (Postal stamps rows with its own host's clock)
before it counts as "from the future": ignored, and counted in :attr:`PollResult.future_rows`."""

HELD_PATTERNS = [pattern for _, pattern in HELD_REASONS]
"""The held-reason LIKE patterns, in the order :data:`db_queries.HELD_CASE` expects them."""

CONNECT_STATE_TIMEOUT = 60.0
"""Seconds the statements reading one server's state at connect may take together (they run once)."""


@dataclass(slots=True)
class _ServerState:
    """One server's part of :class:`~postaltop.core.connect_state.ConnectState`."""

    messages: list[cs.MessageMinute] = field(default_factory=list)
    deliveries: list[cs.DeliveryMinute] = field(default_factory=list)
    domains: list[cs.DomainMinute] = field(default_factory=list)
    spans: list[cs.CredentialDomainSpan] = field(default_factory=list)
    hours: list[cs.CredentialHour] = field(default_factory=list)
    known: set[tuple[int, str]] = field(default_factory=set)
    future: int = 0


_STALE_REASON = {
    "not-answering": "database not answering",
    "auth-failed": "database login refused",
}
_STALE_REASON.update(
    dict.fromkeys(
        ("refused", "unreachable", "error", "missing-grant", "ok", "degraded", ""), "database unreachable"
    )
)

MERGED_BUDGET = 0.5
"""Share of ``query_timeout`` the merged statements may take before their servers are read one by one."""


class PostalDbSource:
    """Reads Postal's main and message databases; see the module docstring."""

    def __init__(
        self,
        config: DatabaseConfig,
        *,
        environ: Mapping[str, str] | None = None,
        my_cnf: Path | None = None,
        clock: Callable[[], float] = time.time,
        pool_size: int = 4,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        seed_rows: int = 5000,
        seed_seconds: float = 60.0,
        max_window_rows: int = 200_000,
        rediscover_every: float = 60.0,
        rng: random.Random | None = None,
        endpoint: Callable[[], Awaitable[tuple[str, int]]] | None = None,
        merge_chunks: int = 1,
        connector: DbConnector | None = None,
    ) -> None:
        self.config = config
        self.connector = connector or DbConnector(config, environ=environ, my_cnf=my_cnf, dial=endpoint)
        """Opens the pool (login, TLS, tunnel, handshake deadline); asked on every (re)connect, so that a
        lost tunnel is reopened by the same backoff loop."""
        self.prefix = q.validate_prefix(config.message_db_prefix)
        self._clock = clock
        self._pool_size = pool_size
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._seed_rows = seed_rows
        self._seed_seconds = seed_seconds
        self._max_window_rows = max_window_rows
        self._rediscover_every = rediscover_every
        self._rng = rng or random.Random()
        self._pool: aiomysql.Pool | None = None
        self._current_user = "?"
        self._servers: list[dm.ServerInfo] = []
        self._existing_dbs: set[str] = set()
        self._discovered_at = float("-inf")
        self._credentials: dict[int, tuple[str, str]] = {}
        self._credential_servers: dict[int, int] = {}
        self._cursors: dict[int, _Cursor] = {}
        self._last_good: dict[int, dm.ServerSample] = {}
        self._clock_offset = 0.0
        self._queries = 0
        self._background: set[asyncio.Task[None]] = set()
        self._solo: set[int] = set()
        """Servers read one by one (their last read failed); the others share merged statements."""
        self.merge_queries = True
        self.merge_chunks = merge_chunks
        """Read healthy servers with merged statements (False: one by one, as the benchmark's reference)."""
        self.connection_ids: set[int] = set()
        """Server thread ids of the connections this source used (for diagnostics and fault tests)."""
        self.status = "not connected"
        self.state = ""
        """The :data:`~postaltop.core.dbmetrics.DB_STATES` value of the last cycle."""
        self._outage_since: float | None = None
        """Monotonic time the current outage began (None while the database answers)."""
        self.address = f"{config.user}@{config.host}:{config.port}"
        """``user@host:port`` of the last connection attempt (no password), for status lines."""

    # ----------------------------------------------------------------------------------- connection

    async def connect(self) -> None:
        """Open the pool through the connector (handshake within ``query_timeout``).

        Raises:
            pymysql.err.MySQLError / OSError: the server cannot be reached, refuses us or does not answer.
        """
        await self.close()
        cfg = self.config
        endpoint = self.connector.endpoint()
        self.address = endpoint.describe()
        self._pool = await self.connector.create_pool(maxsize=self._pool_size, pool_recycle=3600)
        rows = await self._query(q.CURRENT_USER, (), time.monotonic() + cfg.query_timeout)
        account = str(rows[0][0]) if rows else "?"
        user_part, _, host_part = account.rpartition("@")
        self._current_user = f"'{user_part}'@'{host_part}'" if user_part else account
        self._discovered_at = float("-inf")
        self.status = "connected"

    async def close(self, *, force: bool = False) -> None:
        """Close the pool (idempotent); ``force``: drop its connections at once (a database that stopped
        answering would hold a graceful close for seconds)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            if force:
                pool.terminate()
            else:
                pool.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.wait_closed(), 0.5 if force else 2.0)

    @property
    def connected(self) -> bool:
        """True while a pool is open."""
        return self._pool is not None

    async def _query(self, sql: str, args: Sequence[Any], deadline: float) -> list[tuple[Any, ...]]:
        """Run one statement before ``deadline`` (monotonic); one retry on a connection that died."""
        for attempt in (0, 1):
            pool = self._pool
            if pool is None:
                raise pymysql.err.OperationalError(2006, "not connected")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QueryTimeout("no time left in this cycle")
            self._queries += 1
            try:
                return await asyncio.wait_for(self._run(pool, sql, args), remaining)
            except pymysql.err.OperationalError as exc:
                if error_code(exc) in _LOST_CONNECTION and attempt == 0:
                    continue  # a killed/idle-closed pooled connection: the pool hands us a fresh one
                raise
            except TimeoutError:
                raise QueryTimeout(f"query timed out after {self.config.query_timeout:g} s") from None
        raise AssertionError("unreachable")

    async def _run(self, pool: aiomysql.Pool, sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        conn = await pool.acquire()
        thread_id = conn.thread_id()
        self.connection_ids.add(thread_id)
        try:
            async with conn.cursor() as cur:
                await cur.execute(sql, tuple(args) if args else None)
                return list(await cur.fetchall())
        except asyncio.CancelledError:
            # Abandoned mid-result (timeout): never reuse the connection, and stop the statement server-side.
            conn.close()
            self.connection_ids.discard(thread_id)
            task = asyncio.get_running_loop().create_task(self._kill_query(thread_id))
            self._background.add(task)  # keep a reference until done (the loop only holds weak ones)
            task.add_done_callback(self._background.discard)
            raise
        except Exception as exc:
            code = error_code(exc)
            if code is None or code < 1000 or code >= 2000:
                # Client-side failure (lost connection, protocol): the connection is unusable.
                conn.close()
                self.connection_ids.discard(thread_id)
            raise
        finally:
            pool.release(conn)

    async def _kill_query(self, thread_id: int) -> None:
        """Best effort: stop a statement we abandoned, so a slow query does not keep running server-side."""
        pool = self._pool
        if pool is None:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0), pool.acquire() as conn, conn.cursor() as cur:
                await cur.execute(q.KILL_QUERY, (thread_id,))

    async def round_trip(self) -> float:
        """One ``SELECT 1`` through the pool; returns its seconds (latency probe; the bench's ceiling)."""
        started = time.monotonic()
        await self._query(q.PING, (), started + self.config.query_timeout)
        return time.monotonic() - started

    # ------------------------------------------------------------------------------------ discovery

    async def discover(self, deadline: float | None = None) -> list[dm.ServerInfo]:
        """Read the live servers, which message databases exist, and credential names."""
        deadline = deadline if deadline is not None else time.monotonic() + self.config.query_timeout
        rows = await self._query(q.MESSAGE_DBS, (q.message_db_pattern(self.prefix),), deadline)
        self._existing_dbs = {str(r[0]) for r in rows}
        creds = await self._query(q.for_main(q.CREDENTIALS, self.config.database), (), deadline)
        self._credentials = {int(r[0]): (str(r[2] or ""), str(r[3] or "?")) for r in creds}
        self._credential_servers.update({int(r[0]): int(r[1] or 0) for r in creds})
        self._discovered_at = time.monotonic()
        return await self._read_servers(deadline)

    async def _read_servers(self, deadline: float) -> list[dm.ServerInfo]:
        rows = await self._query(q.for_main(q.SERVERS, self.config.database), (), deadline)
        servers = []
        for sid, org, perm, name, mode, s_susp, s_reason, o_susp, o_reason, limit, exceeded, near in rows:
            suspended, reason = dm.effective_suspension(bool(s_susp), s_reason, bool(o_susp), o_reason)
            db_name = q.message_db_name(self.prefix, int(sid))
            servers.append(
                dm.ServerInfo(
                    id=int(sid),
                    org_permalink=str(org or ""),
                    permalink=str(perm or ""),
                    name=str(name or ""),
                    mode=str(mode or ""),
                    suspended=suspended,
                    suspension_reason=reason,
                    send_limit=None if limit is None else int(limit),
                    message_db=db_name,
                    message_db_exists=db_name in self._existing_dbs,
                    send_limit_exceeded_age=None if exceeded is None else float(exceeded),
                    send_limit_approaching_age=None if near is None else float(near),
                )
            )
        self._servers = servers
        return servers

    # ----------------------------------------------------------------------------------------- poll

    async def samples(self) -> AsyncIterator[dm.PollResult]:
        """Poll forever, every ``poll_interval`` seconds; never raises (status results instead)."""
        failures = 0
        while True:
            started = time.monotonic()
            if self._pool is None:
                try:
                    self.status = "connecting"
                    await self.connect()
                    failures = 0
                except Exception as exc:
                    delay = dm.backoff_delay(
                        failures, self._backoff_base, self._backoff_cap, self._rng.random()
                    )
                    failures += 1
                    self.state, self.status = self._outage(exc)
                    # The servers seen before keep their last figures, flagged stale with their age.
                    now = self._db_now_estimate()
                    yield dm.PollResult(
                        state=self.state,
                        started_at=self._clock(),
                        duration=time.monotonic() - started,
                        connected=False,
                        status=f"{self.status}; retrying in {delay:.2f} s",
                        servers=tuple(self._servers),
                        samples=tuple(
                            dm.mark_stale(self._last_good.get(s.id), s.id, now, _STALE_REASON[self.state])
                            for s in self._servers
                        ),
                        errors=(self.status,),
                        retry_in=delay,
                    )
                    await asyncio.sleep(delay)
                    continue
            result = await self.poll_once()
            if not result.connected:
                await self.close(force=True)
            yield result
            if self._pool is not None:
                await asyncio.sleep(max(0.0, self.config.poll_interval - (time.monotonic() - started)))

    async def poll_once(self) -> dm.PollResult:
        """One cycle: every figure of every live server. Never raises."""
        started_wall = self._clock()
        started = time.monotonic()
        deadline = started + self.config.query_timeout
        self._queries = 0
        errors: list[str] = []
        try:
            if time.monotonic() - self._discovered_at > self._rediscover_every:
                servers = await self.discover(deadline)
            else:
                servers = await self._read_servers(deadline)
        except Exception as exc:
            return self._main_failure(exc, started_wall, started)
        ids = [s.id for s in servers]
        queue_outcome, raws = await asyncio.gather(
            self._read_queue(ids, deadline),
            self._read_all(servers, started, deadline),
            return_exceptions=True,
        )
        queue: dict[int, tuple[Any, ...]] = {}
        if isinstance(queue_outcome, BaseException):
            if not isinstance(queue_outcome, Exception):
                raise queue_outcome
            if error_code(queue_outcome) in _LOST_CONNECTION | _UNREACHABLE:
                return self._main_failure(queue_outcome, started_wall, started)
            errors.append(f"queue: {self._describe(queue_outcome, self.config.database, main=True)}")
        else:
            queue = queue_outcome
        if isinstance(raws, BaseException):
            raise raws  # _read_all never raises Exceptions (cancellation only)
        await self._learn_credentials(
            {int(r[1]) for raw in raws.values() if isinstance(raw, _Raw) for r in raw.msg_rows if r[1]},
            deadline,
        )
        outcomes = [self._finish(s, raws[s.id], queue.get(s.id)) for s in servers]
        samples: list[dm.ServerSample] = []
        creds: list[dm.CredentialSample] = []
        domains: list[dm.DomainSample] = []
        cred_domains: list[dm.CredentialDomainSample] = []
        for server, (sample, server_creds, server_domains) in zip(servers, outcomes, strict=True):
            samples.append(sample)
            creds.extend(server_creds)
            domains.extend(server_domains)
            raw = raws[server.id]
            if isinstance(raw, _Raw):
                cred_domains.extend(
                    dm.credential_domains(
                        server.id,
                        ((r[0], None if r[1] is None else int(r[1]), r[2], int(r[3])) for r in raw.msg_rows),
                    )
                )
            if sample.error:
                errors.append(f"{server.full_permalink} (#{server.id}): {sample.error}")
        self.status = "ok" if not errors else f"{len(errors)} problem(s)"
        self.state = dm.degraded_state(errors)
        self._answered()
        return dm.PollResult(
            state=self.state,
            started_at=started_wall,
            duration=time.monotonic() - started,
            connected=True,
            status=self.status,
            servers=tuple(servers),
            samples=tuple(samples),
            credentials=tuple(creds),
            domains=tuple(domains),
            errors=tuple(errors),
            queries=self._queries,
            credential_domains=tuple(cred_domains),
        )

    def _main_failure(self, exc: Exception, started_wall: float, started: float) -> dm.PollResult:
        code = error_code(exc)
        timed_out = isinstance(exc, QueryTimeout | TimeoutError)
        connected = code not in _LOST_CONNECTION | _UNREACHABLE and not timed_out
        message = self._describe(exc, self.config.database, main=True)
        if connected:
            self.status = message
            self.state = dm.classify_failure(code, message, timed_out=False)
            self._answered()  # it answered, with an error
        else:
            self.state, self.status = self._outage(exc)
        now = self._db_now_estimate()
        return dm.PollResult(
            state=self.state,
            started_at=started_wall,
            duration=time.monotonic() - started,
            connected=connected,
            status=self.status,
            servers=tuple(self._servers),
            samples=tuple(
                dm.mark_stale(self._last_good.get(s.id), s.id, now, message) for s in self._servers
            ),
            errors=(self.status,),
            queries=self._queries,
        )

    def _answered(self) -> None:
        self._outage_since = None

    def _outage(self, exc: BaseException) -> tuple[str, str]:
        """The state and status line of a failed connection or main query (the outage's age included)."""
        now = time.monotonic()
        if self._outage_since is None:
            self._outage_since = now
        timed_out = isinstance(exc, NotAnswering | QueryTimeout | TimeoutError)
        text = clean_error(exc)
        state = dm.classify_failure(error_code(exc), text, timed_out=timed_out)
        if state == "not-answering":
            age = now - self._outage_since + (self.config.query_timeout if timed_out else 0.0)
            return (
                state,
                f"not answering ({age:.0f} s): {self.address} accepts connections but does not reply",
            )
        if state == "refused":
            return state, f"unreachable (connection refused): {self.address}: {text}"
        if state == "auth-failed":
            return state, f"auth failed: {self.address}: {text}"
        return state, f"unreachable: {self.address}: {text}"

    def _db_now_estimate(self) -> float:
        return self._clock() + self._clock_offset

    async def _read_queue(self, ids: list[int], deadline: float) -> dict[int, tuple[Any, ...]]:
        if not ids:
            return {}
        rows = await self._query(q.for_main(q.QUEUE, self.config.database, len(ids)), ids, deadline)
        return {int(r[0]): r for r in rows}

    async def _read_all(
        self, servers: Sequence[dm.ServerInfo], started: float, deadline: float
    ) -> dict[int, _Raw | Exception]:
        """Raw figures of every server: healthy ones in two merged round trips, the others one by one.

        The merged statements (``UNION ALL`` over the message databases) get part of the cycle's budget;
        if they fail or time out, each of their servers is read on its own with what is left, so one slow,
        missing or unreadable database only costs its own figures. A server that failed on its own is read
        on its own again next cycle (and rejoins the merged statements once it succeeds).
        """
        merged = [s for s in servers if s.message_db_exists and s.id not in self._solo]
        solo = [s for s in servers if s not in merged]
        out: dict[int, _Raw | Exception] = {}
        if merged and self.merge_queries:
            merged_deadline = min(deadline, started + self.config.query_timeout * MERGED_BUDGET)
            merged_task = self._read_merged_chunks(merged, merged_deadline)
            singles = [self._read_one(s, deadline) for s in solo]
            gathered = await asyncio.gather(merged_task, *singles, return_exceptions=True)
            merged_outcome = gathered[0]
            single_outcomes: list[object] = list(gathered[1:])
            if isinstance(merged_outcome, dict):
                out.update(merged_outcome)
            elif isinstance(merged_outcome, BaseException) and not isinstance(merged_outcome, Exception):
                raise merged_outcome
            else:
                fallback = await asyncio.gather(
                    *(self._read_one(s, deadline) for s in merged), return_exceptions=True
                )
                single_outcomes = [*single_outcomes, *fallback]
                solo = [*solo, *merged]
        else:
            single_outcomes = list(
                await asyncio.gather(*(self._read_one(s, deadline) for s in servers), return_exceptions=True)
            )
            solo = list(servers)
        for server, outcome in zip(solo, single_outcomes, strict=True):
            if isinstance(outcome, _Raw):
                out[server.id] = outcome
                self._solo.discard(server.id)
            elif isinstance(outcome, Exception):
                out[server.id] = outcome
                self._solo.add(server.id)
            elif isinstance(outcome, BaseException):
                raise outcome
        return out

    async def _read_merged_chunks(self, servers: Sequence[dm.ServerInfo], deadline: float) -> dict[int, _Raw]:
        """The merged reads split into ``merge_chunks`` groups run concurrently (the database uses a thread
        per connection, so a multi-core server works on the groups in parallel). Any failure fails all."""
        chunks = max(1, min(self.merge_chunks, len(servers)))
        groups = [list(servers[i::chunks]) for i in range(chunks)]
        out: dict[int, _Raw] = {}
        for part in await asyncio.gather(*(self._read_merged(g, deadline) for g in groups)):
            out.update(part)
        return out

    async def _read_merged(self, servers: Sequence[dm.ServerInfo], deadline: float) -> dict[int, _Raw]:
        window = dm.SEND_LIMIT_WINDOW_MINUTES * 60
        sql, args = q.merged_scalars(self.prefix, [s.id for s in servers], window)
        rows = await self._query(sql, args, deadline)
        raws = {int(r[0]): self._plan(int(r[0]), r[1:]) for r in rows}
        if set(raws) != {s.id for s in servers}:
            raise pymysql.err.InternalError(0, "merged scalars returned an unexpected set of servers")
        db_now = max(r.db_now for r in raws.values()) if raws else 0.0
        statement = q.merged_windows(
            self.prefix,
            [(sid, r.from_msg, r.max_msg, r.from_del, r.max_del, r.min_ts) for sid, r in raws.items()],
            db_now + FUTURE_TOLERANCE,
            HELD_PATTERNS,
        )
        if statement is not None:
            for row in await self._query(statement[0], statement[1], deadline):
                raw = raws[int(row[0])]
                if row[1] == "m":
                    raw.take_messages([(row[2], row[3], row[4], row[6], row[7])])
                else:
                    raw.take_deliveries([row[2:8]])
        return dict(raws)

    async def _read_one(self, server: dm.ServerInfo, deadline: float) -> _Raw:
        window = dm.SEND_LIMIT_WINDOW_MINUTES * 60
        scalars = await self._query(
            q.for_server(q.SERVER_SCALARS, self.prefix, server.id), (window, window), deadline
        )
        raw = self._plan(server.id, scalars[0])
        future = raw.db_now + FUTURE_TOLERANCE
        if raw.max_msg > raw.from_msg:
            sql = q.for_server(q.MESSAGE_WINDOW, self.prefix, server.id)
            raw.take_messages(
                await self._query(sql, (future, raw.from_msg, raw.max_msg, raw.min_ts), deadline)
            )
        if raw.max_del > raw.from_del:
            sql = q.for_server(q.DELIVERY_WINDOW, self.prefix, server.id)
            args = (*HELD_PATTERNS, future, raw.from_del, raw.max_del, raw.min_ts)
            raw.take_deliveries(await self._query(sql, args, deadline))
        return raw

    def _plan(self, server_id: int, scalars: Sequence[Any]) -> _Raw:
        """Turn one server's scalars into the id windows to read next."""
        db_now_raw, max_msg_raw, max_del_raw, held, out60, in60 = scalars
        db_now = float(db_now_raw)
        self._clock_offset = db_now - self._clock()
        max_msg, max_del = int(max_msg_raw), int(max_del_raw)
        cursor = self._cursors.get(server_id)
        if cursor is None or not (0 <= max_msg - cursor.message_id <= self._max_window_rows):
            # First sight (or the ids went backwards / jumped too far): seed from a bounded recent range.
            from_msg, from_del = max(0, max_msg - self._seed_rows), max(0, max_del - self._seed_rows)
            min_ts, seconds = db_now - self._seed_seconds, self._seed_seconds
        else:
            from_msg, from_del = cursor.message_id, max(0, min(cursor.delivery_id, max_del))
            min_ts, seconds = 0.0, max(db_now - cursor.db_now, 1e-6)
        return _Raw(
            db_now, max_msg, max_del, int(held), int(out60), int(in60), from_msg, from_del, min_ts, seconds
        )

    def _finish(
        self, server: dm.ServerInfo, raw: _Raw | Exception, queue_row: tuple[Any, ...] | None
    ) -> tuple[dm.ServerSample, list[dm.CredentialSample], list[dm.DomainSample]]:
        if isinstance(raw, Exception):
            return self._failed(server, raw), [], []
        groups = [(r[0], None if r[1] is None else int(r[1]), r[2], int(r[3])) for r in raw.msg_rows]
        counts = dm.merge_message_counts(
            dm.count_deliveries((r[0], None if r[1] is None else int(r[1]), int(r[4])) for r in raw.del_rows),
            groups,
        )
        held_by_cred = dm.held_by_send_limit(
            (r[2], None if r[3] is None else int(r[3]), int(r[4])) for r in raw.del_rows
        )
        seconds = raw.seconds
        sample = dm.ServerSample(
            server_id=server.id,
            sampled_at=raw.db_now,
            window_seconds=seconds,
            counts=counts,
            queue_depth=int(queue_row[1]) if queue_row else 0,
            queue_ready=int(queue_row[2] or 0) if queue_row else 0,
            queue_retrying=int(queue_row[3] or 0) if queue_row else 0,
            queue_locked=int(queue_row[4] or 0) if queue_row else 0,
            oldest_queued_age=float(queue_row[5]) if queue_row and queue_row[5] is not None else None,
            held_total=raw.held,
            outgoing_last_hour=raw.out60,
            incoming_last_hour=raw.in60,
            send_limit=server.send_limit,
            send_limit_usage_pct=dm.send_limit_usage_pct(raw.out60, server.send_limit),
            held_send_limit=sum(held_by_cred.values()),
            held_send_limit_by_credential=tuple(sorted(held_by_cred.items())),
            future_rows=raw.future,
        )
        self._cursors[server.id] = _Cursor(raw.max_msg, raw.max_del, raw.db_now)
        self._last_good[server.id] = sample
        creds = dm.credential_samples(server.id, groups, self._credentials, seconds)
        domains = dm.top_domains(server.id, groups, self.config.top_domains, seconds)
        return sample, creds, domains

    def _failed(self, server: dm.ServerInfo, exc: Exception) -> dm.ServerSample:
        # A database that information_schema did not list is still queried: the error tells a missing
        # database (1146/1049) from one this user may not read (1142/1044), and a new one just works.
        code = error_code(exc)
        if isinstance(exc, QueryTimeout):
            message = str(exc)
        elif code == 1049 or (code == 1146 and not server.message_db_exists):
            message = "message database missing"
        else:
            message = self._describe(exc, server.message_db)
        return dm.mark_stale(self._last_good.get(server.id), server.id, self._db_now_estimate(), message)

    async def _learn_credentials(self, ids: set[int], deadline: float) -> None:
        unknown = sorted(i for i in ids if i not in self._credentials)
        if not unknown:
            return
        sql = q.for_main(q.CREDENTIALS_BY_ID, self.config.database, len(unknown))
        with contextlib.suppress(pymysql.err.MySQLError):
            for row in await self._query(sql, unknown, deadline):
                self._credentials[int(row[0])] = (str(row[2] or ""), str(row[3] or "?"))
                self._credential_servers[int(row[0])] = int(row[1] or 0)

    def _describe(self, exc: BaseException, database: str, main: bool = False) -> str:
        """Turn an error into a sentence; missing privileges name the GRANT that would fix them."""
        code = error_code(exc)
        if code in _DENIED:
            target = q.quote_ident(database if main else f"{self.prefix}-server-%")
            return f"missing GRANT: SELECT on {target}.* for user {self._current_user} — {clean_error(exc)}"
        if code == 1049:
            return "message database missing" if not main else f"database {database!r} does not exist"
        if code == 1146:
            return f"table missing — {clean_error(exc)} (not a Postal database, or an old schema?)"
        return clean_error(exc)

    # -------------------------------------------------------------------------------------- history

    async def history(self, weeks: int = 4, now: float | None = None) -> list[dm.HistoryPoint]:
        """Hourly and daily statistics of the last ``weeks`` weeks of every live server.

        Servers whose message database is missing or unreadable are skipped (the poll reports them).
        """
        now = self._clock() if now is None else now
        since = int(now) - weeks * 7 * 86400
        since_hour, since_day = since - since % 3600, since - since % 86400
        if not self._servers:
            await self.discover()
        points: list[dm.HistoryPoint] = []
        for server in self._servers:
            if not server.message_db_exists:
                continue
            for statement, granularity, start in (
                (q.HISTORY_HOURLY, "hour", since_hour),
                (q.HISTORY_DAILY, "day", since_day),
            ):
                deadline = time.monotonic() + self.config.query_timeout
                with contextlib.suppress(pymysql.err.MySQLError, QueryTimeout):
                    rows = await self._query(
                        q.for_server(statement, self.prefix, server.id), (start,), deadline
                    )
                    points.extend(
                        dm.HistoryPoint(server.id, granularity, int(r[0]), *(int(v or 0) for v in r[1:6]))
                        for r in rows
                    )
        return points

    # ----------------------------------------------------------------------------- state at connect

    async def connect_state(self, request: cs.ConnectRequest) -> cs.ConnectState:
        """The recent past and the history detection needs at first connect (see ``core.connect_state``).

        Every figure is aggregated in SQL over indexed ranges (``db_queries``' "at first connect"
        statements); a server whose database is missing or unreadable is skipped and named in ``errors``.
        """
        if not self.connected:
            await self.connect()
        if not self._servers:
            await self.discover()
        history = await self.history(request.history_weeks, now=request.until)
        servers = [s for s in self._servers if s.message_db_exists]
        outcomes = await asyncio.gather(
            *(self._server_state(s, request) for s in servers), return_exceptions=True
        )
        parts: list[_ServerState] = []
        errors: list[str] = []
        for server, outcome in zip(servers, outcomes, strict=True):
            if isinstance(outcome, _ServerState):
                parts.append(outcome)
            elif isinstance(outcome, Exception):
                errors.append(
                    f"{server.full_permalink} (#{server.id}): {self._describe(outcome, server.message_db)}"
                )
            elif isinstance(outcome, BaseException):
                raise outcome
        backfill = cs.Backfill(
            start=request.start,
            end=request.until,
            messages=tuple(m for p in parts for m in p.messages),
            deliveries=tuple(d for p in parts for d in p.deliveries),
            domains=tuple(d for p in parts for d in p.domains),
            credential_domains=tuple(c for p in parts for c in p.spans),
            future_rows=sum(p.future for p in parts),
            errors=tuple(errors),
        )
        known = {c for p in parts for c in p.known}
        credentials = tuple(
            cs.CredentialInfo(cid, self._credential_servers.get(cid, 0), name, kind)
            for cid, (name, kind) in sorted(self._credentials.items())
        )
        return cs.ConnectState(
            history=tuple(history),
            backfill=backfill,
            credential_hours=tuple(h for p in parts for h in p.hours),
            credential_domains=tuple(sorted(known)),
            credential_since=request.credential_since,
            credentials=credentials,
            errors=tuple(errors),
        )

    async def _server_state(self, server: dm.ServerInfo, request: cs.ConnectRequest) -> _ServerState:
        sid = server.id
        start, end = request.start, request.until
        deadline = time.monotonic() + max(CONNECT_STATE_TIMEOUT, self.config.query_timeout)

        def sql(statement: str) -> str:
            return q.for_server(statement, self.prefix, sid)

        out = _ServerState()
        rows = await self._query(sql(q.BACKFILL_MESSAGES), (start, end), deadline)
        out.messages = [
            cs.MessageMinute(sid, int(r[0]), None if r[1] is None else int(r[1]), int(r[2])) for r in rows
        ]
        rows = await self._query(
            sql(q.BACKFILL_CREDENTIAL_DOMAINS), (start, end, request.max_pairs), deadline
        )
        spans = [
            cs.CredentialDomainSpan(sid, int(r[0]), str(r[1] or ""), int(r[2]), int(r[3]), int(r[4]))
            for r in rows
        ]
        out.spans = [span for span in spans if span.credential_id > 0]
        top = cs.top_domains(spans, request.top_domains)
        if top:
            statement = sql(q.BACKFILL_DOMAINS).replace("{domains}", ", ".join(["%s"] * len(top)))
            rows = await self._query(statement, (*top, start, end), deadline)
            out.domains = [cs.DomainMinute(sid, int(r[0]), str(r[1]), int(r[2])) for r in rows]
        first = await self._query(sql(q.FIRST_OUTGOING_ID), (start - q.DELIVERY_LAG, end), deadline)
        if first and first[0][0] is not None:
            args = (*HELD_PATTERNS, int(first[0][0]), start, end)
            rows = await self._query(sql(q.BACKFILL_DELIVERIES), args, deadline)
            out.deliveries = [
                cs.DeliveryMinute(
                    sid, int(r[0]), str(r[1] or ""), bool(r[2]), str(r[3] or ""),
                    None if r[4] is None else int(r[4]), int(r[5]),
                )
                for r in rows
            ]  # fmt: skip
        rows = await self._query(sql(q.FUTURE_MESSAGES), (end + FUTURE_TOLERANCE,), deadline)
        out.future = int(rows[0][0] or 0) if rows else 0
        since = request.credential_since
        rows = await self._query(sql(q.CREDENTIAL_HOURS), (since, start), deadline)
        out.hours = [cs.CredentialHour(sid, int(r[1]), int(r[0]), int(r[2])) for r in rows]
        rows = await self._query(sql(q.CREDENTIAL_USUAL_DOMAINS), (since, start, request.max_pairs), deadline)
        out.known = {(int(r[0]), str(r[1] or "")) for r in rows if r[1]}
        seen = {m.credential_id for m in out.messages if m.credential_id} | {
            h.credential_id for h in out.hours
        }
        for cred in seen:
            self._credential_servers.setdefault(cred, sid)
        await self._learn_credentials(seen, deadline)
        return out

    def reset_windows(self) -> None:
        """Forget the id windows (the next poll seeds them again)."""
        self._cursors.clear()

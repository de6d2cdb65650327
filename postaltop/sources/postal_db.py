"""The Postal database source: discovery, the poll loop and history, over an aiomysql pool.

Shape of one poll cycle (``poll_once``), all reads, all bounded by one deadline (``query_timeout``):

* main DB: live servers + organizations (tiny tables), queue figures per server (index range);
* per server, concurrently on the pool: one scalar round trip (DB clock, newest ids, held total,
  live_stats volumes) and, when rows arrived, the id-window aggregations of ``messages`` and
  ``deliveries`` (PK ranges — Postal indexes neither ``timestamp`` nor ``credential_id``).

A server whose queries fail or outlive the deadline keeps its last good figures, flagged stale with their
age; the other servers are unaffected. The loop (:meth:`PostalDbSource.samples`) never raises: when the
database cannot be reached it yields a status result and retries with exponential backoff and jitter.

The SSH tunnel is not handled here: whoever opens it passes the local end as ``host``/``port`` to
:meth:`PostalDbSource.connect`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomysql
import pymysql

from postaltop.config import DatabaseConfig
from postaltop.core import dbmetrics as dm
from postaltop.sources import db_queries as q
from postaltop.sources.mycnf import read_client_options

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
    else:
        text = str(exc) or type(exc).__name__
    text = _CONTROL.sub(" ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_code(exc: BaseException) -> int | None:
    """The MySQL error number of ``exc``, if it carries one."""
    if isinstance(exc, pymysql.err.MySQLError) and exc.args and isinstance(exc.args[0], int):
        return exc.args[0]
    return None


def build_ssl_context(config: DatabaseConfig) -> ssl.SSLContext | None:
    """The TLS context for aiomysql, or None when TLS is off."""
    if not config.tls:
        return None
    context = ssl.create_default_context(cafile=str(config.tls_ca) if config.tls_ca else None)
    if not config.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(slots=True)
class _Cursor:
    """Where a server's id windows stand."""

    message_id: int
    delivery_id: int
    db_now: float


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
    ) -> None:
        self.config = config
        self.prefix = q.validate_prefix(config.message_db_prefix)
        self._environ = environ
        self._my_cnf = my_cnf
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
        self._cursors: dict[int, _Cursor] = {}
        self._last_good: dict[int, dm.ServerSample] = {}
        self._clock_offset = 0.0
        self._queries = 0
        self._background: set[asyncio.Task[None]] = set()
        self.connection_ids: set[int] = set()
        """Server thread ids of the connections this source used (for diagnostics and fault tests)."""
        self.status = "not connected"
        self.address = f"{config.user}@{config.host}:{config.port}"
        """``user@host:port`` of the last connection attempt (no password), for status lines."""

    # ----------------------------------------------------------------------------------- connection

    async def connect(self, host: str | None = None, port: int | None = None) -> None:
        """Open the pool. ``host``/``port`` override the config (the SSH tunnel's local end).

        Raises:
            pymysql.err.MySQLError / OSError: when the server cannot be reached or refuses us.
        """
        await self.close()
        cfg = self.config
        user, cfg_host, cfg_port = cfg.user, cfg.host, cfg.port
        if cfg.use_my_cnf:
            # ~/.my.cnf only fills what the config file did not set explicitly.
            cnf = read_client_options(self._my_cnf)
            user = cnf.user if cnf.user and "user" not in cfg.model_fields_set else user
            cfg_host = cnf.host if cnf.host and "host" not in cfg.model_fields_set else cfg_host
            cfg_port = cnf.port if cnf.port and "port" not in cfg.model_fields_set else cfg_port
        secret = cfg.resolve_password(self._environ, self._my_cnf)
        self.address = f"{user}@{host or cfg_host}:{port or cfg_port}"
        self._pool = await aiomysql.create_pool(
            host=host or cfg_host,
            port=port or cfg_port,
            user=user,
            password=secret.get_secret_value() if secret is not None else "",
            autocommit=True,  # without it a pooled connection would read one old snapshot forever
            charset="utf8mb4",
            minsize=1,
            maxsize=self._pool_size,
            connect_timeout=max(1, int(cfg.query_timeout)),
            ssl=build_ssl_context(cfg),
            pool_recycle=3600,
        )
        rows = await self._query(q.CURRENT_USER, (), time.monotonic() + cfg.query_timeout)
        account = str(rows[0][0]) if rows else "?"
        user_part, _, host_part = account.rpartition("@")
        self._current_user = f"'{user_part}'@'{host_part}'" if user_part else account
        self._discovered_at = float("-inf")
        self.status = "connected"

    async def close(self) -> None:
        """Close the pool (idempotent)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.wait_closed(), 2.0)

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
        self._discovered_at = time.monotonic()
        return await self._read_servers(deadline)

    async def _read_servers(self, deadline: float) -> list[dm.ServerInfo]:
        rows = await self._query(q.for_main(q.SERVERS, self.config.database), (), deadline)
        servers = []
        for sid, org, perm, name, mode, s_susp, s_reason, o_susp, o_reason, limit in rows:
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
                    self.status = f"unreachable: {self.address}: {clean_error(exc)}"
                    yield dm.PollResult(
                        started_at=self._clock(),
                        duration=time.monotonic() - started,
                        connected=False,
                        status=f"{self.status}; retrying in {delay:.2f} s",
                        errors=(self.status,),
                        retry_in=delay,
                    )
                    await asyncio.sleep(delay)
                    continue
            result = await self.poll_once()
            if not result.connected:
                await self.close()
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
        queue: dict[int, tuple[Any, ...]] = {}
        if ids:
            try:
                rows = await self._query(q.for_main(q.QUEUE, self.config.database, len(ids)), ids, deadline)
                queue = {int(r[0]): r for r in rows}
            except Exception as exc:
                if error_code(exc) in _LOST_CONNECTION | _UNREACHABLE:
                    return self._main_failure(exc, started_wall, started)
                errors.append(f"queue: {self._describe(exc, self.config.database, main=True)}")
        outcomes = await asyncio.gather(*(self._poll_server(s, queue.get(s.id), deadline) for s in servers))
        samples: list[dm.ServerSample] = []
        creds: list[dm.CredentialSample] = []
        domains: list[dm.DomainSample] = []
        for server, (sample, server_creds, server_domains) in zip(servers, outcomes, strict=True):
            samples.append(sample)
            creds.extend(server_creds)
            domains.extend(server_domains)
            if sample.error:
                errors.append(f"{server.full_permalink} (#{server.id}): {sample.error}")
        self.status = "ok" if not errors else f"{len(errors)} problem(s)"
        return dm.PollResult(
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
        )

    def _main_failure(self, exc: Exception, started_wall: float, started: float) -> dm.PollResult:
        code = error_code(exc)
        connected = code not in _LOST_CONNECTION | _UNREACHABLE
        message = self._describe(exc, self.config.database, main=True)
        self.status = message if connected else f"unreachable: {message}"
        now = self._db_now_estimate()
        return dm.PollResult(
            started_at=started_wall,
            duration=time.monotonic() - started,
            connected=connected,
            status=self.status,
            servers=tuple(self._servers),
            samples=tuple(
                dm.mark_stale(self._last_good.get(s.id), s.id, now, message) for s in self._servers
            ),
            errors=(message,),
            queries=self._queries,
        )

    def _db_now_estimate(self) -> float:
        return self._clock() + self._clock_offset

    async def _poll_server(
        self, server: dm.ServerInfo, queue_row: tuple[Any, ...] | None, deadline: float
    ) -> tuple[dm.ServerSample, list[dm.CredentialSample], list[dm.DomainSample]]:
        # A database that information_schema did not list is still queried: the error tells a missing
        # database (1146/1049) from one this user may not read (1142/1044), and a new one just works.
        try:
            return await self._read_server(server, queue_row, deadline)
        except Exception as exc:
            code = error_code(exc)
            if isinstance(exc, QueryTimeout):
                message = str(exc)
            elif code == 1049 or (code == 1146 and not server.message_db_exists):
                message = "message database missing"
            else:
                message = self._describe(exc, server.message_db)
            stale = dm.mark_stale(self._last_good.get(server.id), server.id, self._db_now_estimate(), message)
            return stale, [], []

    async def _read_server(
        self, server: dm.ServerInfo, queue_row: tuple[Any, ...] | None, deadline: float
    ) -> tuple[dm.ServerSample, list[dm.CredentialSample], list[dm.DomainSample]]:
        window = dm.SEND_LIMIT_WINDOW_MINUTES * 60
        scalars = await self._query(
            q.for_server(q.SERVER_SCALARS, self.prefix, server.id), (window, window), deadline
        )
        db_now_raw, max_msg, max_del, held, out60, in60 = scalars[0]
        db_now = float(db_now_raw)
        self._clock_offset = db_now - self._clock()
        max_msg, max_del = int(max_msg), int(max_del)
        cursor = self._cursors.get(server.id)
        if cursor is None or not (0 <= max_msg - cursor.message_id <= self._max_window_rows):
            # First sight (or the ids went backwards / jumped too far): seed from a bounded recent range.
            from_msg, from_del = max(0, max_msg - self._seed_rows), max(0, max_del - self._seed_rows)
            min_ts, seconds = db_now - self._seed_seconds, self._seed_seconds
        else:
            from_msg, from_del = cursor.message_id, max(0, min(cursor.delivery_id, max_del))
            min_ts, seconds = 0.0, max(db_now - cursor.db_now, 1e-6)
        msg_rows: list[tuple[Any, ...]] = []
        if max_msg > from_msg:
            sql = q.for_server(q.MESSAGE_WINDOW, self.prefix, server.id)
            msg_rows = await self._query(sql, (from_msg, max_msg, min_ts), deadline)
        del_rows: list[tuple[Any, ...]] = []
        if max_del > from_del:
            sql = q.for_server(q.DELIVERY_WINDOW, self.prefix, server.id)
            del_rows = await self._query(sql, (from_del, max_del, min_ts), deadline)
        groups = [(r[0], None if r[1] is None else int(r[1]), r[2], int(r[3])) for r in msg_rows]
        await self._learn_credentials({g[1] for g in groups if g[1]}, deadline)
        counts = dm.merge_message_counts(
            dm.count_deliveries((r[0], None if r[1] is None else int(r[1]), int(r[2])) for r in del_rows),
            groups,
        )
        volume = int(out60)
        sample = dm.ServerSample(
            server_id=server.id,
            sampled_at=db_now,
            window_seconds=seconds,
            counts=counts,
            queue_depth=int(queue_row[1]) if queue_row else 0,
            queue_ready=int(queue_row[2] or 0) if queue_row else 0,
            queue_retrying=int(queue_row[3] or 0) if queue_row else 0,
            queue_locked=int(queue_row[4] or 0) if queue_row else 0,
            oldest_queued_age=float(queue_row[5]) if queue_row and queue_row[5] is not None else None,
            held_total=int(held),
            outgoing_last_hour=volume,
            incoming_last_hour=int(in60),
            send_limit=server.send_limit,
            send_limit_usage_pct=dm.send_limit_usage_pct(volume, server.send_limit),
        )
        self._cursors[server.id] = _Cursor(max_msg, max_del, db_now)
        self._last_good[server.id] = sample
        creds = dm.credential_samples(server.id, groups, self._credentials, seconds)
        domains = dm.top_domains(server.id, groups, self.config.top_domains, seconds)
        return sample, creds, domains

    async def _learn_credentials(self, ids: set[int], deadline: float) -> None:
        unknown = sorted(i for i in ids if i not in self._credentials)
        if not unknown:
            return
        sql = q.for_main(q.CREDENTIALS_BY_ID, self.config.database, len(unknown))
        with contextlib.suppress(pymysql.err.MySQLError):
            for row in await self._query(sql, unknown, deadline):
                self._credentials[int(row[0])] = (str(row[2] or ""), str(row[3] or "?"))

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

    def reset_windows(self) -> None:
        """Forget the id windows (the next poll seeds them again)."""
        self._cursors.clear()

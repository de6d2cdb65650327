"""The pool of one Postal database source: connect, close, and statements bounded by the cycle's deadline."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiomysql
import pymysql

from postaltop.config import DatabaseConfig
from postaltop.core import dbmetrics as dm
from postaltop.sources import db_queries as q
from postaltop.sources.db_connect import DbConnector, NotAnswering
from postaltop.sources.postal_db.errors import (
    DENIED,
    LOST_CONNECTION,
    QueryTimeout,
    clean_error,
    error_code,
)
from postaltop.sources.postal_db.windows import Cursor


class DbSession:
    """The pool, its statements and the outage bookkeeping of :class:`PostalDbSource`."""

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
        self._cursors: dict[int, Cursor] = {}
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
                if error_code(exc) in LOST_CONNECTION and attempt == 0:
                    continue  # a killed/idle-closed pooled connection: the pool hands us a fresh one
                raise
            except TimeoutError:
                raise QueryTimeout(f"query timed out after {self.config.query_timeout:g} s") from None
        raise AssertionError("unreachable")

    async def read_server(self, statement: str, server_id: int, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        """One read-only message-DB ``statement`` (``{db}``: the server's database), within the timeout."""
        sql = q.for_server(statement, self.prefix, server_id)
        return await self._query(sql, args, time.monotonic() + self.config.query_timeout)

    def credential_name(self, credential_id: int) -> str | None:
        """A credential's name, as discovery read it (None when unknown)."""
        known = self._credentials.get(credential_id)
        return known[0] if known is not None else None

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

    def _describe(self, exc: BaseException, database: str, main: bool = False) -> str:
        """Turn an error into a sentence; missing privileges name the GRANT that would fix them."""
        code = error_code(exc)
        if code in DENIED:
            target = q.quote_ident(database if main else f"{self.prefix}-server-%")
            return f"missing GRANT: SELECT on {target}.* for user {self._current_user} — {clean_error(exc)}"
        if code == 1049:
            return "message database missing" if not main else f"database {database!r} does not exist"
        if code == 1146:
            return f"table missing — {clean_error(exc)} (not a Postal database, or an old schema?)"
        return clean_error(exc)

"""One cycle's reads: the live servers, the queue, and each server's id windows (merged or one by one)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

import pymysql

from postaltop.core import dbmetrics as dm
from postaltop.sources import db_queries as q
from postaltop.sources.postal_db.errors import QueryTimeout, error_code
from postaltop.sources.postal_db.session import DbSession
from postaltop.sources.postal_db.windows import (
    FUTURE_TOLERANCE,
    HELD_PATTERNS,
    MERGED_BUDGET,
    Cursor,
    Raw,
)


class DbReads(DbSession):
    """Discovery and the reads of one poll cycle, each bounded by the cycle's deadline."""

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

    async def _read_queue(self, ids: list[int], deadline: float) -> dict[int, tuple[Any, ...]]:
        if not ids:
            return {}
        rows = await self._query(q.for_main(q.QUEUE, self.config.database, len(ids)), ids, deadline)
        return {int(r[0]): r for r in rows}

    async def _read_all(
        self, servers: Sequence[dm.ServerInfo], started: float, deadline: float
    ) -> dict[int, Raw | Exception]:
        """Raw figures of every server: healthy ones in two merged round trips, the others one by one.

        The merged statements (``UNION ALL`` over the message databases) get part of the cycle's budget;
        if they fail or time out, each of their servers is read on its own with what is left, so one slow,
        missing or unreadable database only costs its own figures. A server that failed on its own is read
        on its own again next cycle (and rejoins the merged statements once it succeeds).
        """
        merged = [s for s in servers if s.message_db_exists and s.id not in self._solo]
        solo = [s for s in servers if s not in merged]
        out: dict[int, Raw | Exception] = {}
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
            if isinstance(outcome, Raw):
                out[server.id] = outcome
                self._solo.discard(server.id)
            elif isinstance(outcome, Exception):
                out[server.id] = outcome
                self._solo.add(server.id)
            elif isinstance(outcome, BaseException):
                raise outcome
        return out

    async def _read_merged_chunks(self, servers: Sequence[dm.ServerInfo], deadline: float) -> dict[int, Raw]:
        """The merged reads split into ``merge_chunks`` groups run concurrently (the database uses a thread
        per connection, so a multi-core server works on the groups in parallel). Any failure fails all."""
        chunks = max(1, min(self.merge_chunks, len(servers)))
        groups = [list(servers[i::chunks]) for i in range(chunks)]
        out: dict[int, Raw] = {}
        for part in await asyncio.gather(*(self._read_merged(g, deadline) for g in groups)):
            out.update(part)
        return out

    async def _read_merged(self, servers: Sequence[dm.ServerInfo], deadline: float) -> dict[int, Raw]:
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

    async def _read_one(self, server: dm.ServerInfo, deadline: float) -> Raw:
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

    def _plan(self, server_id: int, scalars: Sequence[Any]) -> Raw:
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
        return Raw(
            db_now, max_msg, max_del, int(held), int(out60), int(in60), from_msg, from_del, min_ts, seconds
        )

    def _finish(
        self, server: dm.ServerInfo, raw: Raw | Exception, queue_row: tuple[Any, ...] | None
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
        self._cursors[server.id] = Cursor(raw.max_msg, raw.max_del, raw.db_now)
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

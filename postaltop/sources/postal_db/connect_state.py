"""What detection reads once, at first connect: Postal's statistics and the recent past, aggregated in SQL."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import pymysql

from postaltop.core import connect_state as cs
from postaltop.core import dbmetrics as dm
from postaltop.sources import db_queries as q
from postaltop.sources.postal_db.errors import QueryTimeout
from postaltop.sources.postal_db.reads import DbReads
from postaltop.sources.postal_db.windows import FUTURE_TOLERANCE, HELD_PATTERNS

CONNECT_STATE_TIMEOUT = 60.0
"""Seconds the statements reading one server's state at connect may take together (they run once)."""


@dataclass(slots=True)
class ServerState:
    """One server's part of :class:`~postaltop.core.connect_state.ConnectState`."""

    messages: list[cs.MessageMinute] = field(default_factory=list)
    deliveries: list[cs.DeliveryMinute] = field(default_factory=list)
    domains: list[cs.DomainMinute] = field(default_factory=list)
    spans: list[cs.CredentialDomainSpan] = field(default_factory=list)
    hours: list[cs.CredentialHour] = field(default_factory=list)
    domain_hours: list[cs.DomainHour] = field(default_factory=list)
    known: set[tuple[int, str]] = field(default_factory=set)
    future: int = 0


class ConnectReads(DbReads):
    """The history bootstrap and the state at connect."""

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
        parts: list[ServerState] = []
        errors: list[str] = []
        for server, outcome in zip(servers, outcomes, strict=True):
            if isinstance(outcome, ServerState):
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
            domain_hours=tuple(h for p in parts for h in p.domain_hours),
            credential_domains=tuple(sorted(known)),
            credential_since=request.credential_since,
            credentials=credentials,
            errors=tuple(errors),
        )

    async def _server_state(self, server: dm.ServerInfo, request: cs.ConnectRequest) -> ServerState:
        sid = server.id
        start, end = request.start, request.until
        deadline = time.monotonic() + max(CONNECT_STATE_TIMEOUT, self.config.query_timeout)

        def sql(statement: str) -> str:
            return q.for_server(statement, self.prefix, sid)

        out = ServerState()
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
            statement = sql(q.DOMAIN_HOURS).replace("{domains}", ", ".join(["%s"] * len(top)))
            rows = await self._query(statement, (*top, request.credential_since, start), deadline)
            out.domain_hours = [cs.DomainHour(sid, int(r[0]), str(r[1]), int(r[2])) for r in rows]
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

"""Read one message and its deliveries from Postal's database, for the message trace (read-only).

References are resolved by index only, never by a scan:

* ``server::message`` → ``messages`` by primary key in ``<prefix>-server-<server>``;
* a number → ``queued_messages`` by primary key in the main database (only while the message is
  queued), which names the server and the message;
* anything else is taken as a message token → ``messages.token`` (index ``on_token``) in each live
  server's message database.

``log_id`` values are not indexed in ``deliveries``: a ``log_id`` is first turned into
``server::message`` through the retained logs (the ``Sending message`` line), which the trace does.

The statements run through :class:`~postaltop.sources.postal_db.PostalDbSource`'s pool with its
deadline and retry rules; identifiers come only from the validated prefix and integer server ids.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from postaltop.sources import db_queries as q

Runner = Callable[[str, Sequence[Any]], Awaitable[list[tuple[Any, ...]]]]
"""Runs one parameterised statement and returns its rows."""

MESSAGE_COLUMNS = (
    "id",
    "token",
    "scope",
    "rcpt_to",
    "mail_from",
    "subject",
    "message_id",
    "timestamp",
    "status",
    "held",
    "bounce",
)
DELIVERY_COLUMNS = ("id", "status", "details", "output", "sent_with_ssl", "log_id", "timestamp", "time")
MAX_DELIVERIES = 200
"""Deliveries read per message at most (the LIMIT in :data:`DELIVERIES`)."""

MESSAGE_BY_ID = (
    "SELECT `id`, `token`, `scope`, `rcpt_to`, `mail_from`, `subject`, `message_id`, `timestamp`, `status`, "
    "`held`, `bounce` FROM {db}.`messages` WHERE `id` = %s"
)
MESSAGE_BY_TOKEN = (
    "SELECT `id`, `token`, `scope`, `rcpt_to`, `mail_from`, `subject`, `message_id`, `timestamp`, `status`, "
    "`held`, `bounce` FROM {db}.`messages` FORCE INDEX (on_token) WHERE `token` = %s LIMIT 2"
)
DELIVERIES = (
    "SELECT `id`, `status`, `details`, `output`, `sent_with_ssl`, `log_id`, `timestamp`, `time` "
    "FROM {db}.`deliveries` FORCE INDEX (on_message_id) WHERE `message_id` = %s ORDER BY `id` LIMIT 200"
)
QUEUED = "SELECT `server_id`, `message_id` FROM {main}.`queued_messages` WHERE `id` = %s"
LIVE_SERVERS = "SELECT `id` FROM {main}.`servers` WHERE `deleted_at` IS NULL ORDER BY `id`"
STATEMENTS = {"MESSAGE_BY_ID": MESSAGE_BY_ID, "MESSAGE_BY_TOKEN": MESSAGE_BY_TOKEN, "DELIVERIES": DELIVERIES}
"""The message-DB statements (``{db}`` is filled per server)."""

_SERVER_MESSAGE = re.compile(r"^(\d{1,10})::(\d{1,12})$")
_TOKEN = re.compile(r"^[A-Za-z0-9]{1,64}$")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value


@dataclass(slots=True)
class MessageRecord:
    """One message row and its deliveries (values as read; text is untrusted: neutralise to show)."""

    server_id: int
    message: dict[str, Any]
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """``server::message``."""
        return f"{self.server_id}::{self.message['id']}"


@dataclass(slots=True)
class LookupResult:
    """What the database knows about a reference."""

    ref: str
    records: list[MessageRecord] = field(default_factory=list)
    note: str = ""
    """Why nothing was found, or how the reference was resolved."""


class MessageLookup:
    """Resolves message references against Postal's databases through ``run``.

    Args:
        run: executes one statement (see :func:`runner_for`).
        database: the main database name; prefix: the message databases' prefix.
    """

    def __init__(self, run: Runner, *, database: str, prefix: str) -> None:
        self.run = run
        self.database = database
        self.prefix = q.validate_prefix(prefix)

    async def lookup(self, ref: str) -> LookupResult:
        """The message(s) ``ref`` names, with their deliveries."""
        ref = ref.strip()
        result = LookupResult(ref)
        match = _SERVER_MESSAGE.match(ref)
        if match:
            record = await self._message(int(match.group(1)), int(match.group(2)))
            if record is None:
                result.note = (
                    f"no message {match.group(2)} in {q.message_db_name(self.prefix, int(match.group(1)))}"
                )
            else:
                result.records.append(record)
            return result
        not_queued = ""
        if ref.isdigit():
            rows = await self.run(q.for_main(QUEUED, self.database), (int(ref),))
            if rows and rows[0][0] is not None and rows[0][1] is not None:
                server_id, message_id = int(rows[0][0]), int(rows[0][1])
                record = await self._message(server_id, message_id)
                result.note = f"queued message {ref} is {server_id}::{message_id}"
                if record is not None:
                    result.records.append(record)
                return result
            not_queued = f"queued message {ref} is not in the queue (delivered, or never queued)"
            if not _TOKEN.match(ref):
                result.note = not_queued
                return result
        if _TOKEN.match(ref):  # a token may be all digits: searched as one when no queued message has that id
            servers = await self.run(q.for_main(LIVE_SERVERS, self.database), ())
            for (server_id,) in servers:
                try:
                    rows = await self.run(q.for_server(MESSAGE_BY_TOKEN, self.prefix, int(server_id)), (ref,))
                except Exception as exc:  # a server without a message database: skip it
                    if "1049" in str(exc) or "1146" in str(exc):
                        continue
                    raise
                for row in rows:
                    result.records.append(await self._with_deliveries(int(server_id), row))
            if not result.records:
                missing = f"no message with token {ref} (a log_id or trace_id is found through the logs)"
                result.note = f"{not_queued}; {missing}" if not_queued else missing
            return result
        result.note = f"{ref!r} is not a server::message, queued message id or token"
        return result

    async def _message(self, server_id: int, message_id: int) -> MessageRecord | None:
        rows = await self.run(q.for_server(MESSAGE_BY_ID, self.prefix, server_id), (message_id,))
        if not rows:
            return None
        return await self._with_deliveries(server_id, rows[0])

    async def _with_deliveries(self, server_id: int, row: tuple[Any, ...]) -> MessageRecord:
        message = {c: _plain(v) for c, v in zip(MESSAGE_COLUMNS, row, strict=True)}
        rows = await self.run(q.for_server(DELIVERIES, self.prefix, server_id), (message["id"],))
        deliveries = [{c: _plain(v) for c, v in zip(DELIVERY_COLUMNS, r, strict=True)} for r in rows]
        return MessageRecord(server_id, message, deliveries)


def runner_for(source: Any, timeout: float | None = None) -> Runner:
    """A :data:`Runner` over a connected ``PostalDbSource`` (its pool, deadline and retry rules).

    Seam: uses the source's ``_query(sql, args, deadline)``; the source belongs to the database
    source's module.
    """
    limit = timeout if timeout is not None else float(source.config.query_timeout)

    async def run(sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = await source._query(sql, args, time.monotonic() + limit)
        return rows

    return run


def lookup_for(source: Any) -> MessageLookup:
    """A :class:`MessageLookup` on a connected ``PostalDbSource``."""
    return MessageLookup(
        runner_for(source), database=source.config.database, prefix=source.config.message_db_prefix
    )


class LazyLookup:
    """A lookup that opens its own small pool on first use (the trace screen's ``message_lookup``).

    Args:
        config: the ``[database]`` section (``postaltop.config.DatabaseConfig``).
        connector: the connection factory (tunnel, TLS, deadlines); one on ``config`` alone when None.
    """

    def __init__(self, config: Any, connector: Any = None) -> None:
        self.config = config
        self.connector = connector
        self._source: Any = None
        self._lookup: MessageLookup | None = None

    async def __call__(self, ref: str) -> LookupResult:
        """Look ``ref`` up, connecting first if needed."""
        if self._lookup is None:
            from postaltop.sources.postal_db import PostalDbSource

            source = PostalDbSource(self.config, pool_size=1, connector=self.connector)
            await source.connect()
            self._source, self._lookup = source, lookup_for(source)
        return await self._lookup.lookup(ref)

    async def close(self) -> None:
        """Close the pool, if one was opened."""
        if self._source is not None:
            await self._source.close()
            self._source = self._lookup = None
        if self.connector is not None:
            await self.connector.close()

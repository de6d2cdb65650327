"""Every SQL statement postaltop's database source runs, as named constants.

Values are always passed as parameters (``%s``). The only text ever substituted into a statement is the
message-database identifier, and it is built by :func:`message_db_ident` from an ``int`` server id and a
prefix that matched :data:`PREFIX_RE` — never from a database value or free text. Message-DB statements
hold the placeholder ``{db}``; :func:`for_server` fills it.

Each statement's plan is checked by ``tests/db/test_explain.py``: nothing here may scan ``messages``,
``deliveries`` or ``queued_messages`` in full.
"""

from __future__ import annotations

import re

from postaltop.core.sqltext import like_escape

PREFIX_RE = re.compile(r"^[A-Za-z0-9_]{1,48}$")
"""Accepted message-DB prefixes (Postal's default is ``postal``); the full name stays within 64 chars."""

MAIN_TABLE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""Accepted main database names."""

SERVERS = """
SELECT s.id, o.permalink, s.permalink, s.name, s.mode,
       s.suspended_at IS NOT NULL, s.suspension_reason,
       o.suspended_at IS NOT NULL, o.suspension_reason,
       s.send_limit,
       TIMESTAMPDIFF(MICROSECOND, s.send_limit_exceeded_at, UTC_TIMESTAMP(6)) / 1000000,
       TIMESTAMPDIFF(MICROSECOND, s.send_limit_approaching_at, UTC_TIMESTAMP(6)) / 1000000
FROM {main}.`servers` s
JOIN {main}.`organizations` o ON o.id = s.organization_id
WHERE s.deleted_at IS NULL AND o.deleted_at IS NULL
ORDER BY s.id
"""
"""Live servers with their organization (both small tables); the send-limit marks as ages in seconds on the
database clock (Postal writes them in UTC)."""

MESSAGE_DBS = """
SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s
"""
"""Which message databases exist (and are visible to this user). Parameter: escaped ``<prefix>-server-%``."""

CREDENTIALS = """
SELECT id, server_id, name, type FROM {main}.`credentials`
"""
"""Credential names and types for the per-credential view. ``key`` is deliberately never selected."""

CREDENTIALS_BY_ID = """
SELECT id, server_id, name, type FROM {main}.`credentials` WHERE id IN ({ids})
"""
"""Credentials first seen in a window (PK lookups); ``{ids}`` is a list of ``%s`` placeholders."""

QUEUE = """
SELECT server_id, COUNT(*),
       SUM(retry_after IS NULL OR retry_after < UTC_TIMESTAMP()),
       SUM(attempts > 0),
       SUM(locked_at IS NOT NULL),
       TIMESTAMPDIFF(MICROSECOND, MIN(created_at), UTC_TIMESTAMP(6)) / 1000000
FROM {main}.`queued_messages` FORCE INDEX (index_queued_messages_on_server_id)
WHERE server_id IN ({ids})
GROUP BY server_id
"""
"""Queue figures per server, read through ``index_queued_messages_on_server_id`` (a range, never a scan)."""

SERVER_SCALARS = """
SELECT UNIX_TIMESTAMP(NOW(6)),
       (SELECT COALESCE(MAX(id), 0) FROM {db}.`messages`),
       (SELECT COALESCE(MAX(id), 0) FROM {db}.`deliveries`),
       (SELECT COUNT(*) FROM {db}.`messages` WHERE held = 1),
       (SELECT COALESCE(SUM(`count`), 0) FROM {db}.`live_stats`
         WHERE type = 'outgoing' AND `timestamp` > FLOOR((UNIX_TIMESTAMP() - %s) / 60) * 60),
       (SELECT COALESCE(SUM(`count`), 0) FROM {db}.`live_stats`
         WHERE type = 'incoming' AND `timestamp` > FLOOR((UNIX_TIMESTAMP() - %s) / 60) * 60)
"""
"""One round trip per server: DB clock, newest ids, held total (``on_held``), 60-minute live_stats volumes.

Parameters: the live-stats window in seconds, twice. The threshold is Postal's: the start of the minute
60 minutes ago, on the database clock.
"""

HELD_CASE = """CASE WHEN d.status <> 'Held' THEN ''
            WHEN d.details LIKE %s THEN 'send_limit'
            WHEN d.details LIKE %s THEN 'credential'
            WHEN d.details LIKE %s THEN 'suppression'
            WHEN d.details LIKE %s THEN 'development'
            WHEN d.details LIKE %s THEN 'suspended'
            ELSE 'other' END"""
"""The held reason of a delivery (``''`` when not Held); five LIKE patterns as parameters
(:data:`postaltop.core.connect_state.HELD_REASONS`, in order)."""

MESSAGE_WINDOW = """
SELECT scope, credential_id, LOWER(SUBSTRING_INDEX(rcpt_to, '@', -1)), COALESCE(`timestamp`, 0) > %s, COUNT(*)
FROM {db}.`messages`
WHERE id > %s AND id <= %s AND COALESCE(`timestamp`, 0) >= %s
GROUP BY 1, 2, 3, 4
"""
"""New messages grouped by scope, credential, recipient domain and "stamped in the future" over a PK range.

Parameters: the future bound (database clock + tolerance), last seen id, newest id, minimum timestamp (0
except when seeding the first window). Rows flagged future are counted, not used.
"""

DELIVERY_WINDOW = """
SELECT d.status, m.spam, {held},
       CASE WHEN d.status = 'Held' THEN m.credential_id END,
       COALESCE(d.`timestamp`, 0) > %s, COUNT(*)
FROM {db}.`deliveries` d
JOIN {db}.`messages` m ON m.id = d.message_id
WHERE d.id > %s AND d.id <= %s AND COALESCE(d.`timestamp`, 0) >= %s AND m.scope = 'outgoing'
GROUP BY 1, 2, 3, 4, 5
""".replace("{held}", HELD_CASE)
"""New outgoing deliveries by status, spam flag, held reason, credential (Held only) and future flag.

Parameters: the five held-reason patterns, the future bound, last seen id, newest id, minimum timestamp.
"""

SCALARS_PART = SERVER_SCALARS.replace("\nSELECT ", "\nSELECT %s,\n       ", 1)
"""One server's part of the merged scalars statement: :data:`SERVER_SCALARS` with the server id first.

Parameters: server id, the live-stats window in seconds, twice. :func:`merged_scalars` joins one part per
server with ``UNION ALL``, so one round trip reads every server's scalars.
"""

MESSAGE_WINDOW_PART = """
SELECT %s, 'm', scope, credential_id, LOWER(SUBSTRING_INDEX(rcpt_to, '@', -1)), NULL,
       COALESCE(`timestamp`, 0) > %s, COUNT(*)
FROM {db}.`messages`
WHERE id > %s AND id <= %s AND COALESCE(`timestamp`, 0) >= %s
GROUP BY 3, 4, 5, 7
"""
"""One server's :data:`MESSAGE_WINDOW` in the merged window statement (rows tagged ``m``).

Parameters: server id, future bound, last seen id, newest id, minimum timestamp.
"""

DELIVERY_WINDOW_PART = """
SELECT %s, 'd', d.status, m.spam, {held},
       CASE WHEN d.status = 'Held' THEN m.credential_id END,
       COALESCE(d.`timestamp`, 0) > %s, COUNT(*)
FROM {db}.`deliveries` d
JOIN {db}.`messages` m ON m.id = d.message_id
WHERE d.id > %s AND d.id <= %s AND COALESCE(d.`timestamp`, 0) >= %s AND m.scope = 'outgoing'
GROUP BY 3, 4, 5, 6, 7
""".replace("{held}", HELD_CASE)
"""One server's :data:`DELIVERY_WINDOW` in the merged window statement (rows tagged ``d``).

Parameters: server id, the five held-reason patterns, future bound, last seen delivery id, newest delivery
id, minimum timestamp.
"""

HISTORY_HOURLY = """
SELECT `time`, incoming, outgoing, spam, bounces, held FROM {db}.`stats_hourly`
WHERE `time` >= %s ORDER BY `time`
"""
"""Hourly statistics since an epoch (unique index ``on_time``)."""

HISTORY_DAILY = """
SELECT `time`, incoming, outgoing, spam, bounces, held FROM {db}.`stats_daily`
WHERE `time` >= %s ORDER BY `time`
"""
"""Daily statistics since an epoch (unique index ``on_time``)."""

# ----------------------------------------------------------------------------------- at first connect
# Read once per server when the monitor asks for the recent past (``PostalDbSource.connect_state``).
# Every statement is a GROUP BY over a ``timestamp`` range read through ``on_scope_and_spam``
# (scope(1), spam, timestamp) — Postal's only index with a leading path to ``timestamp`` — or over a
# ``deliveries.message_id`` range (``on_message_id``): rows scanned grow with the window, not the table.

OUTGOING_RANGE = "scope = 'outgoing' AND spam IN (0, 1) AND `timestamp` >= %s AND `timestamp` < %s"
"""The outgoing messages of a time range, as ``on_scope_and_spam`` reads them. Parameters: start, end."""

BACKFILL_MESSAGES = """
SELECT FLOOR(`timestamp` / 60), credential_id, COUNT(*)
FROM {db}.`messages`
WHERE {range}
GROUP BY 1, 2
""".replace("{range}", OUTGOING_RANGE)
"""Outgoing messages per minute and credential. Parameters: start, end (database clock)."""

BACKFILL_CREDENTIAL_DOMAINS = """
SELECT COALESCE(credential_id, 0), LOWER(SUBSTRING_INDEX(rcpt_to, '@', -1)),
       FLOOR(MIN(`timestamp`) / 60), FLOOR(MAX(`timestamp`) / 60), COUNT(*)
FROM {db}.`messages`
WHERE {range}
GROUP BY 1, 2
ORDER BY 5 DESC
LIMIT %s
""".replace("{range}", OUTGOING_RANGE)
"""Per (credential, recipient domain): first and last minute and count, busiest first (at most the limit).

Parameters: start, end, row limit.
"""

BACKFILL_DOMAINS = """
SELECT FLOOR(`timestamp` / 60),
       CASE WHEN LOWER(SUBSTRING_INDEX(rcpt_to, '@', -1)) IN ({domains})
            THEN LOWER(SUBSTRING_INDEX(rcpt_to, '@', -1)) ELSE 'other' END,
       COUNT(*)
FROM {db}.`messages`
WHERE {range}
GROUP BY 1, 2
""".replace("{range}", OUTGOING_RANGE)
"""Outgoing messages per minute to each of the top domains and to ``other``; ``{domains}`` is a list of
``%s`` placeholders. Parameters: the domains, start, end."""

FIRST_OUTGOING_ID = """
SELECT MIN(id) FROM {db}.`messages` WHERE {range}
""".replace("{range}", OUTGOING_RANGE)
"""The first outgoing message of a range (where the window's deliveries start). Parameters: start, end."""

BACKFILL_DELIVERIES = """
SELECT FLOOR(d.`timestamp` / 60), d.status, m.spam, {held},
       CASE WHEN d.status = 'Held' THEN m.credential_id END, COUNT(*)
FROM {db}.`deliveries` d
JOIN {db}.`messages` m ON m.id = d.message_id
WHERE d.message_id >= %s AND d.`timestamp` >= %s AND d.`timestamp` < %s AND m.scope = 'outgoing'
GROUP BY 1, 2, 3, 4, 5
""".replace("{held}", HELD_CASE)
"""Outgoing deliveries per minute **of delivery** by status, spam flag, held reason, (Held only) credential.

Parameters: the five held-reason patterns, first message id, start, end. Deliveries of messages created
more than :data:`DELIVERY_LAG` before the window are not read (a long-retried message's late delivery).
"""

FUTURE_MESSAGES = """
SELECT COUNT(*) FROM {db}.`messages`
WHERE scope = 'outgoing' AND spam IN (0, 1) AND `timestamp` >= %s
"""
"""Outgoing messages stamped after the database clock (+ tolerance): ignored, and counted for health."""

CREDENTIAL_HOURS = """
SELECT FLOOR(`timestamp` / 3600) * 3600, credential_id, COUNT(*)
FROM {db}.`messages`
WHERE {range} AND credential_id IS NOT NULL
GROUP BY 1, 2
""".replace("{range}", OUTGOING_RANGE)
"""Outgoing messages per clock hour and credential before the backfill (credential baselines)."""

DOMAIN_HOURS = """
SELECT FLOOR(`timestamp` / 3600) * 3600,
       CASE WHEN LOWER(SUBSTRING_INDEX(rcpt_to, '@', -1)) IN ({domains})
            THEN LOWER(SUBSTRING_INDEX(rcpt_to, '@', -1)) ELSE 'other' END,
       COUNT(*)
FROM {db}.`messages`
WHERE {range}
GROUP BY 1, 2
""".replace("{range}", OUTGOING_RANGE)
"""Outgoing messages per clock hour to each of the backfill's top domains and to ``other``, before the
backfill (recipient-domain baselines). Parameters: the domains, start, end."""

CREDENTIAL_USUAL_DOMAINS = """
SELECT credential_id, LOWER(SUBSTRING_INDEX(rcpt_to, '@', -1)), COUNT(*)
FROM {db}.`messages`
WHERE {range} AND credential_id IS NOT NULL
GROUP BY 1, 2
ORDER BY 3 DESC
LIMIT %s
""".replace("{range}", OUTGOING_RANGE)
"""The recipient domains each credential mailed before the backfill (novelty). Parameters: start, end,
limit."""

DELIVERY_LAG = 3600
"""Seconds before the window whose messages' deliveries are still read (retries)."""

PING = "SELECT 1"
"""The cheapest round trip."""

CURRENT_USER = "SELECT CURRENT_USER()"
"""The account the server authenticated us as, for GRANT hints."""

KILL_QUERY = "KILL QUERY %s"
"""Stop a statement that outlived its timeout (a user may always kill its own threads)."""

POLL_STATEMENTS: dict[str, str] = {
    "SERVERS": SERVERS,
    "CREDENTIALS_BY_ID": CREDENTIALS_BY_ID,
    "QUEUE": QUEUE,
    "SERVER_SCALARS": SERVER_SCALARS,
    "MESSAGE_WINDOW": MESSAGE_WINDOW,
    "DELIVERY_WINDOW": DELIVERY_WINDOW,
    "SCALARS_PART": SCALARS_PART,
    "MESSAGE_WINDOW_PART": MESSAGE_WINDOW_PART,
    "DELIVERY_WINDOW_PART": DELIVERY_WINDOW_PART,
    "HISTORY_HOURLY": HISTORY_HOURLY,
    "HISTORY_DAILY": HISTORY_DAILY,
    "BACKFILL_MESSAGES": BACKFILL_MESSAGES,
    "BACKFILL_CREDENTIAL_DOMAINS": BACKFILL_CREDENTIAL_DOMAINS,
    "BACKFILL_DOMAINS": BACKFILL_DOMAINS,
    "FIRST_OUTGOING_ID": FIRST_OUTGOING_ID,
    "BACKFILL_DELIVERIES": BACKFILL_DELIVERIES,
    "FUTURE_MESSAGES": FUTURE_MESSAGES,
    "CREDENTIAL_HOURS": CREDENTIAL_HOURS,
    "CREDENTIAL_USUAL_DOMAINS": CREDENTIAL_USUAL_DOMAINS,
    "DOMAIN_HOURS": DOMAIN_HOURS,
}
"""The statements on the poll path (the EXPLAIN test walks this)."""


def quote_ident(name: str) -> str:
    """Backquote an identifier that was already validated (doubling backquotes is belt and braces)."""
    return "`" + name.replace("`", "``") + "`"


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is an acceptable message-DB prefix, else raise ValueError."""
    if not PREFIX_RE.match(prefix):
        raise ValueError(f"invalid message database prefix {prefix!r}: letters, digits and _ only")
    return prefix


def message_db_name(prefix: str, server_id: int) -> str:
    """The unquoted name of a server's message database: ``<prefix>-server-<id>``."""
    if isinstance(server_id, bool) or not isinstance(server_id, int) or server_id <= 0:
        raise ValueError(f"invalid server id {server_id!r}")
    return f"{validate_prefix(prefix)}-server-{server_id}"


def message_db_ident(prefix: str, server_id: int) -> str:
    """The backquoted identifier of a server's message database, e.g. ``\\`postal-server-1\\```."""
    return quote_ident(message_db_name(prefix, server_id))


def main_db_ident(database: str) -> str:
    """The backquoted identifier of Postal's main database."""
    if not MAIN_TABLE_RE.match(database):
        raise ValueError(f"invalid main database name {database!r}")
    return quote_ident(database)


def for_server(statement: str, prefix: str, server_id: int) -> str:
    """A message-DB statement with ``{db}`` replaced by the server's message database identifier."""
    return statement.replace("{db}", message_db_ident(prefix, server_id))


def for_main(statement: str, database: str, id_count: int = 0) -> str:
    """A main-DB statement with ``{main}`` filled and ``{ids}`` expanded to ``id_count`` placeholders."""
    out = statement.replace("{main}", main_db_ident(database))
    if "{ids}" in out:
        out = out.replace("{ids}", ", ".join(["%s"] * max(id_count, 1)))
    return out


def message_db_pattern(prefix: str) -> str:
    """LIKE pattern matching every message database of ``prefix``."""
    return like_escape(validate_prefix(prefix) + "-server-") + "%"


def _union(parts: list[str]) -> str:
    # Each part is parenthesised so its GROUP BY stays its own.
    return "\nUNION ALL\n".join(f"({part.strip()})" for part in parts)


def merged_scalars(prefix: str, server_ids: list[int], window_seconds: int) -> tuple[str, list[object]]:
    """One statement reading :data:`SCALARS_PART` of every server in ``server_ids`` (one row each).

    Identifiers come from :func:`for_server` (validated prefix, int ids); everything else is a parameter.
    """
    parts = [for_server(SCALARS_PART, prefix, sid) for sid in server_ids]
    args: list[object] = []
    for sid in server_ids:
        args += [sid, window_seconds, window_seconds]
    return _union(parts), args


def merged_windows(
    prefix: str, windows: list[tuple[int, int, int, int, int, float]], future: float, held: list[str]
) -> tuple[str, list[object]] | None:
    """One statement reading the message and delivery windows of several servers; None when all are empty.

    Args:
        prefix: the validated message-DB prefix.
        windows: ``(server_id, from_message_id, max_message_id, from_delivery_id, max_delivery_id,
            min_timestamp)`` per server; an empty range (``from >= max``) is left out.

        future: the future bound (database clock + tolerance): rows stamped later are flagged.
        held: the held-reason LIKE patterns.

    Rows: ``(server_id, 'm', scope, credential_id, rcpt_domain, NULL, future, count)`` and
    ``(server_id, 'd', status, spam, held_reason, held_credential_id, future, count)``.
    """
    parts: list[str] = []
    args: list[object] = []
    for sid, from_msg, max_msg, from_del, max_del, min_ts in windows:
        if max_msg > from_msg:
            parts.append(for_server(MESSAGE_WINDOW_PART, prefix, sid))
            args += [sid, future, from_msg, max_msg, min_ts]
        if max_del > from_del:
            parts.append(for_server(DELIVERY_WINDOW_PART, prefix, sid))
            args += [sid, *held, future, from_del, max_del, min_ts]
    if not parts:
        return None
    return _union(parts), args

"""The audit trail of incident actions: a SQLite store (mode 0600) and a JSONL trail, in the XDG data dir.

* ``audit.sqlite3`` keeps everything, including the full before/after rows an undo needs (a revoked
  credential's key among them): it is created mode 0600 in a 0700 directory and never exported.
* ``audit.jsonl`` gets one line per action with the same record but secret columns redacted
  (:data:`postaltop.core.actions.REDACTED`): safe to ship to a log system.

Each record: id, time, OS user, DB user, host, action, targets, sentence, SQL, before and after rows,
result (``ok``, ``verify-failed``, ``unknown``: rows changed or may have; ``not-committed``,
``aborted-drift``, ``denied``, ``refused``, ``no-op``: nothing changed; ``error`` in old trails), detail,
``demo``, ``undo_of`` / ``undone_by``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import getpass
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postaltop import locations
from postaltop.core.actions.plan import Row, redact_rows
from postaltop.private_files import connect_private, open_private_text, private_dir

UNDOABLE_RESULTS = ("ok", "verify-failed", "unknown")
"""Results whose rows may have changed: an undo is offered (its own drift checks refuse a no-op)."""

DB_NAME = "audit.sqlite3"
JSONL_NAME = "audit.jsonl"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    os_user TEXT NOT NULL,
    db_user TEXT NOT NULL,
    host TEXT NOT NULL,
    action TEXT NOT NULL,
    server TEXT NOT NULL,
    targets TEXT NOT NULL,
    sentence TEXT NOT NULL,
    statements TEXT NOT NULL,
    before_rows TEXT NOT NULL,
    after_rows TEXT NOT NULL,
    result TEXT NOT NULL,
    detail TEXT NOT NULL,
    demo INTEGER NOT NULL DEFAULT 0,
    undo_of INTEGER,
    undone_by INTEGER
)
"""


def encode_value(value: Any) -> Any:
    """A DB value as JSON (datetimes, decimals and bytes tagged so they decode to the same type)."""
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$td": value.total_seconds()}
    if isinstance(value, decimal.Decimal):
        return {"$dec": str(value)}
    if isinstance(value, bytes | bytearray):
        return {"$b64": base64.b64encode(bytes(value)).decode()}
    return value


def decode_value(value: Any) -> Any:
    """Inverse of :func:`encode_value`."""
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "$dt":
            return dt.datetime.fromisoformat(raw)
        if tag == "$date":
            return dt.date.fromisoformat(raw)
        if tag == "$td":
            return dt.timedelta(seconds=raw)
        if tag == "$dec":
            return decimal.Decimal(raw)
        if tag == "$b64":
            return base64.b64decode(raw)
    return value


def encode_rows(snapshots: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """Snapshots as JSON text (column order kept)."""
    return json.dumps(
        {
            label: [[[k, encode_value(v)] for k, v in row.items()] for row in rows]
            for label, rows in snapshots.items()
        }
    )


def decode_rows(text: str) -> dict[str, list[Row]]:
    """Inverse of :func:`encode_rows`."""
    data = json.loads(text)
    return {label: [{k: decode_value(v) for k, v in row} for row in rows] for label, rows in data.items()}


@dataclass(slots=True)
class AuditRecord:
    """One audited action."""

    action: str
    server: str
    targets: dict[str, Any]
    sentence: str
    statements: list[str]
    result: str
    detail: str = ""
    before: dict[str, list[Row]] = field(default_factory=dict)
    after: dict[str, list[Row]] = field(default_factory=dict)
    db_user: str = ""
    demo: bool = False
    undo_of: int | None = None
    id: int | None = None
    ts: float = 0.0
    os_user: str = ""
    host: str = ""
    undone_by: int | None = None

    def public(self) -> dict[str, Any]:
        """The record for the JSONL trail, the screen and exports: secret columns redacted."""
        return {
            "id": self.id,
            "time": dt.datetime.fromtimestamp(self.ts, dt.UTC).isoformat(timespec="seconds"),
            "os_user": self.os_user,
            "db_user": self.db_user,
            "host": self.host,
            "action": self.action,
            "server": self.server,
            "targets": self.targets,
            "sentence": self.sentence,
            "statements": self.statements,
            "before": json.loads(encode_rows(redact_rows(self.before))),
            "after": json.loads(encode_rows(redact_rows(self.after))),
            "result": self.result,
            "detail": self.detail,
            "demo": self.demo,
            "undo_of": self.undo_of,
            "undone_by": self.undone_by,
        }


def os_user() -> str:
    """The local user name (best effort)."""
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid())


class AuditStore:
    """Append and read the trail. ``directory`` defaults to the XDG data dir."""

    def __init__(self, directory: Path | None = None, *, operator: str | None = None) -> None:
        self.directory = directory if directory is not None else locations.data_dir()
        self.operator = operator
        self.db_path = self.directory / DB_NAME
        self.jsonl_path = self.directory / JSONL_NAME

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        private_dir(self.directory, own=True)
        conn = connect_private(self.db_path, timeout=10)
        try:
            conn.execute(_SCHEMA)
            yield conn
            conn.commit()
        finally:
            conn.close()

    def append(self, record: AuditRecord) -> AuditRecord:
        """Store ``record`` (filling id, time, users, host) and append its public form to the JSONL trail."""
        record.ts = record.ts or time.time()
        if not record.os_user:
            record.os_user = f"{self.operator} (os {os_user()})" if self.operator else os_user()
        record.host = record.host or socket.gethostname()
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO actions (ts, os_user, db_user, host, action, server, targets, sentence, "
                "statements, before_rows, after_rows, result, detail, demo, undo_of) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.ts,
                    record.os_user,
                    record.db_user,
                    record.host,
                    record.action,
                    record.server,
                    json.dumps(record.targets, default=str),
                    record.sentence,
                    json.dumps(record.statements),
                    encode_rows(record.before),
                    encode_rows(record.after),
                    record.result,
                    record.detail,
                    int(record.demo),
                    record.undo_of,
                ),
            )
            record.id = int(cur.lastrowid or 0)
            if record.undo_of is not None and record.result == "ok":
                conn.execute("UPDATE actions SET undone_by = ? WHERE id = ?", (record.id, record.undo_of))
        with open_private_text(self.jsonl_path, "a") as out:
            out.write(json.dumps(record.public(), default=str) + "\n")
        return record

    def _from_row(self, row: tuple[Any, ...]) -> AuditRecord:
        (
            rid,
            ts,
            osu,
            dbu,
            host,
            action,
            server,
            targets,
            sentence,
            statements,
            before,
            after,
            result,
            detail,
            demo,
            undo_of,
            undone_by,
        ) = row
        return AuditRecord(
            action=action,
            server=server,
            targets=json.loads(targets),
            sentence=sentence,
            statements=json.loads(statements),
            result=result,
            detail=detail,
            before=decode_rows(before),
            after=decode_rows(after),
            db_user=dbu,
            demo=bool(demo),
            undo_of=undo_of,
            id=rid,
            ts=ts,
            os_user=osu,
            host=host,
            undone_by=undone_by,
        )

    def get(self, audit_id: int) -> AuditRecord | None:
        """One record (with its full rows), or None."""
        if not self.db_path.exists():
            return None
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM actions WHERE id = ?", (audit_id,)).fetchone()
        return self._from_row(row) if row else None

    def list(
        self, since: float | None = None, limit: int = 1000, demo: bool | None = None
    ) -> list[AuditRecord]:
        """Records, oldest first (``since``: epoch seconds; ``demo``: only demo / only real ones)."""
        if not self.db_path.exists():
            return []
        sql = "SELECT * FROM actions WHERE ts >= ?"
        params: list[Any] = [since or 0.0]
        if demo is not None:
            sql += " AND demo = ?"
            params.append(int(demo))
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        with self._connect() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [self._from_row(r) for r in reversed(rows)]

    def last_undoable(self, demo: bool | None = None) -> AuditRecord | None:
        """The most recent successful action (not itself an undo) that changed rows and is not undone yet."""
        for record in reversed(self.list(limit=200, demo=demo)):
            if (
                record.result in UNDOABLE_RESULTS
                and record.undone_by is None
                and record.undo_of is None
                and (record.before or record.after)
            ):
                return record
        return None

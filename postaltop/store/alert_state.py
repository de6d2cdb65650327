"""Silences and acknowledgements kept across restarts (``$XDG_DATA_HOME/postaltop/alerts.sqlite3``, 0600)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path

from postaltop import locations
from postaltop.core.alerts import Acknowledgement, Severity, Silence
from postaltop.store.baselines import open_private

FILE_NAME = "alerts.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, match TEXT NOT NULL, until REAL NOT NULL,
    author TEXT NOT NULL, reason TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS acks (
    alert_key TEXT PRIMARY KEY, author TEXT NOT NULL, comment TEXT NOT NULL,
    at REAL NOT NULL, severity TEXT NOT NULL
);
"""


def default_path() -> Path:
    """Where the alert state lives by default."""
    return locations.data_dir() / FILE_NAME


class AlertStateStore:
    """Persists silences and acknowledgements."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._db: sqlite3.Connection = open_private(self.path)
        self._db.executescript(_SCHEMA)

    def save_silence(self, silence: Silence) -> None:
        """Store (or replace) one silence."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO silences (id, match, until, author, reason, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    silence.id,
                    silence.match,
                    silence.until,
                    silence.author,
                    silence.reason,
                    silence.created_at,
                ),
            )

    def delete_silence(self, silence_id: str) -> None:
        """Remove a silence."""
        with self._db:
            self._db.execute("DELETE FROM silences WHERE id = ?", (silence_id,))

    def load_silences(self, now: float | None = None) -> list[Silence]:
        """Silences that have not expired (expired ones are deleted)."""
        now = time.time() if now is None else now
        with self._db:
            self._db.execute("DELETE FROM silences WHERE until <= ?", (now,))
        rows = self._db.execute(
            "SELECT id, match, until, author, reason, created_at FROM silences ORDER BY created_at"
        )
        return [Silence(str(a), str(b), float(c), str(d), str(e), float(f)) for a, b, c, d, e, f in rows]

    def save_acks(self, acks: Mapping[str, Acknowledgement]) -> None:
        """Replace the stored acknowledgements with ``acks``."""
        with self._db:
            self._db.execute("DELETE FROM acks")
            self._db.executemany(
                "INSERT INTO acks (alert_key, author, comment, at, severity) VALUES (?, ?, ?, ?, ?)",
                [(k, a.author, a.comment, a.at, a.severity.value) for k, a in acks.items()],
            )

    def load_acks(self) -> dict[str, Acknowledgement]:
        """Stored acknowledgements by alert key."""
        out: dict[str, Acknowledgement] = {}
        for key, author, comment, at, severity in self._db.execute(
            "SELECT alert_key, author, comment, at, severity FROM acks"
        ):
            try:
                out[str(key)] = Acknowledgement(str(author), str(comment), float(at), Severity(severity))
            except ValueError:
                continue
        return out

    def close(self) -> None:
        """Close the database."""
        self._db.close()

"""Hourly baseline samples in SQLite (``$XDG_DATA_HOME/postaltop/baselines.sqlite3``, mode 0600)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from postaltop import locations
from postaltop.core.alerts import Scope
from postaltop.core.baseline import MAX_WEEKS, Baselines
from postaltop.private_files import connect_private

FILE_NAME = "baselines.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    scope TEXT NOT NULL,
    metric TEXT NOT NULL,
    hour INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (scope, metric, hour)
) WITHOUT ROWID;
"""


def default_path() -> Path:
    """Where the baselines live by default."""
    return locations.data_dir() / FILE_NAME


def open_private(path: Path) -> sqlite3.Connection:
    """Open (creating) an SQLite file readable only by the user (0600, directory 0700)."""
    return connect_private(path)


class BaselineStore:
    """Persists :class:`~postaltop.core.baseline.Baselines` samples."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._db = open_private(self.path)
        self._db.executescript(_SCHEMA)

    def load_into(self, baselines: Baselines, now: float | None = None) -> int:
        """Add the stored samples of the last :data:`MAX_WEEKS` weeks to ``baselines``. Returns the count."""
        since = int((now if now is not None else time.time()) - MAX_WEEKS * 7 * 86400)
        n = 0
        rows = self._db.execute("SELECT scope, metric, hour, value FROM samples WHERE hour >= ?", (since,))
        for scope, metric, hour, value in rows:
            try:
                parsed = Scope.parse(scope)
            except ValueError:
                continue
            baselines.add_sample(parsed, metric, int(hour), float(value), record=False)
            n += 1
        return n

    def save(self, samples: Iterable[tuple[Scope, str, int, float]]) -> None:
        """Insert or replace hourly samples."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO samples (scope, metric, hour, value) VALUES (?, ?, ?, ?)",
                [(str(s), m, int(h), float(v)) for s, m, h, v in samples],
            )

    def prune(self, now: float) -> None:
        """Delete samples older than the baselines keep."""
        with self._db:
            self._db.execute("DELETE FROM samples WHERE hour < ?", (int(now - MAX_WEEKS * 7 * 86400),))

    def close(self) -> None:
        """Close the database."""
        self._db.close()

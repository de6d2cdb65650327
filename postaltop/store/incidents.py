"""Incidents already notified, kept across ``watch`` restarts (``$XDG_STATE_HOME/postaltop``, mode 0600).

Without it, a restarted watch would page again for every incident still under way: the detectors re-fire
them within a minute of the start. Rows belong to an ``owner`` (one watch instance: its config file, or the
demo), so several instances on one machine never adopt each other's incidents.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from postaltop import locations
from postaltop.core.notification import NotificationEvent
from postaltop.store.baselines import open_private

FILE_NAME = "notified-incidents.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    owner TEXT NOT NULL, incident_key TEXT NOT NULL, event TEXT NOT NULL, notified_at REAL NOT NULL,
    PRIMARY KEY (owner, incident_key)
);
"""


def default_path() -> Path:
    """Where notified incidents are kept by default."""
    return locations.state_dir() / FILE_NAME


class IncidentStore:
    """The open incidents one watch instance has notified.

    Args:
        owner: which instance the rows belong to.
        path: the SQLite file (default :func:`default_path`).
    """

    def __init__(self, owner: str, path: Path | None = None) -> None:
        self.owner = owner
        self.path = path or default_path()
        self._db: sqlite3.Connection = open_private(self.path)
        self._db.executescript(_SCHEMA)

    def save(self, event: NotificationEvent, notified_at: float) -> None:
        """Record (or update) one open incident."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO incidents (owner, incident_key, event, notified_at) "
                "VALUES (?, ?, ?, ?)",
                (self.owner, event.key, json.dumps(event.to_dict()), notified_at),
            )

    def delete(self, key: str) -> None:
        """Forget an incident (it resolved)."""
        with self._db:
            self._db.execute("DELETE FROM incidents WHERE owner = ? AND incident_key = ?", (self.owner, key))

    def load(self) -> list[tuple[NotificationEvent, float]]:
        """This owner's open incidents and when each was last notified (unreadable rows are skipped)."""
        out: list[tuple[NotificationEvent, float]] = []
        rows = self._db.execute(
            "SELECT event, notified_at FROM incidents WHERE owner = ? ORDER BY notified_at", (self.owner,)
        )
        for text, notified_at in rows:
            try:
                out.append((NotificationEvent.from_dict(json.loads(text)), float(notified_at)))
            except (ValueError, KeyError, TypeError):
                continue
        return out

    def close(self) -> None:
        """Close the file."""
        self._db.close()

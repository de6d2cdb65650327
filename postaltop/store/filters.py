"""Remember the last log filter and a short history between runs.

Stored as a small JSON file in the XDG state directory (``$XDG_STATE_HOME/postaltop/filters.json``).
Writes are atomic (temporary file + ``os.replace``); a missing, unreadable or corrupt file reads
as an empty state, and a failed write is reported by the return value: losing filter history
must never stop the monitor.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from postaltop import locations
from postaltop.private_files import replace_private

FILE_NAME = "filters.json"
HISTORY_LIMIT = 50
"""How many past filters are remembered (most recent first)."""
MAX_FILTER_CHARS = 4096
"""Longer entries are ignored on load and never saved (the parser rejects them anyway)."""
_VERSION = 1

log = logging.getLogger(__name__)


@dataclass(slots=True)
class FilterState:
    """The remembered filters.

    Attributes:
        last: the filter active when the app last saved (empty = none).
        history: past filters, most recent first, without duplicates.
    """

    last: str = ""
    history: list[str] = field(default_factory=list)

    def remember(self, text: str, limit: int = HISTORY_LIMIT) -> None:
        """Make ``text`` the last filter and move it to the front of the history.

        A blank filter clears ``last``; an over-long one is ignored. Neither enters the history.
        """
        text = text.strip()
        if not text:
            self.last = ""
            return
        if len(text) > MAX_FILTER_CHARS:
            return
        self.last = text
        self.history = [text, *(h for h in self.history if h != text)][:limit]


def filters_path() -> Path:
    """Where the filter state lives (``$XDG_STATE_HOME/postaltop/filters.json`` on Linux)."""
    return locations.state_dir() / FILE_NAME


def load_filter_state(path: Path | None = None) -> FilterState:
    """Read the remembered filters; anything missing or malformed yields an empty state.

    Args:
        path: the file to read (default: ``filters_path()``).

    Returns:
        The state read, or an empty ``FilterState``. Never raises for file or content problems.
    """
    path = path or filters_path()
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return FilterState()
    except (OSError, ValueError, RecursionError) as exc:
        log.warning("ignoring unreadable filter history %s: %s", path, exc.__class__.__name__)
        return FilterState()
    if not isinstance(data, dict):
        return FilterState()
    last = data.get("last")
    history = data.get("history")
    state = FilterState(last=last if isinstance(last, str) and len(last) <= MAX_FILTER_CHARS else "")
    if isinstance(history, list):
        seen: set[str] = set()
        for item in history:
            if isinstance(item, str) and item.strip() and len(item) <= MAX_FILTER_CHARS and item not in seen:
                seen.add(item)
                state.history.append(item)
                if len(state.history) >= HISTORY_LIMIT:
                    break
    return state


def save_filter_state(state: FilterState, path: Path | None = None) -> bool:
    """Write the state atomically (a reader sees the old file or the new one, never half of one).

    Args:
        state: what to save; the history is cut to ``HISTORY_LIMIT`` entries.
        path: the file to write (default: ``filters_path()``); its directory is created.

    Returns:
        True if saved, False if the file could not be written (the error is logged, not raised).
    """
    path = path or filters_path()
    payload = {
        "version": _VERSION,
        "last": state.last if len(state.last) <= MAX_FILTER_CHARS else "",
        "history": [h for h in state.history if len(h) <= MAX_FILTER_CHARS][:HISTORY_LIMIT],
    }
    data = json.dumps(payload, ensure_ascii=False, indent=1).encode()
    try:
        with replace_private(path) as fh:
            fh.write(data)
        return True
    except OSError as exc:
        log.warning("could not save filter history to %s: %s", path, exc)
        return False

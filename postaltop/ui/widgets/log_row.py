"""Turning one stored log event into the plain-text cells of a log panel row.

Everything shown comes from untrusted log text, so every cell goes through
:func:`postaltop.core.sanitize.display_text` and is later used only as a plain string (never markup).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from rich.cells import set_cell_size

from postaltop.core.events import Level, LineFormat, LogEvent
from postaltop.core.sanitize import display_text

LEVEL_LABELS: dict[Level, str] = {
    Level.UNKNOWN: "-",
    Level.DEBUG: "DEBUG",
    Level.INFO: "INFO",
    Level.WARN: "WARN",
    Level.ERROR: "ERROR",
    Level.FATAL: "FATAL",
}
LEVEL_WIDTH = 5
TIME_WIDTH = 8

# The time and severity are shown in their own columns, so the message column starts after them.
_V3_PREFIX = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} (?:DEBUG|INFO|WARN|ERROR|FATAL|ANY)\s*")
_V2_PREFIX = re.compile(r"(?:\[[^\]]{0,80}\] )?\[\d{4}-\d\d-\d\dT[^\]]{0,40}\] +[A-Z]+ -- : ")

MAX_HOST_WIDTH = 16
MAX_COMPONENT_WIDTH = 12


@dataclass(frozen=True, slots=True)
class Columns:
    """Widths of the fixed columns (the message takes the rest)."""

    host: int
    component: int

    @classmethod
    def for_names(cls, hosts: list[str], components: list[str]) -> Columns:
        """Widths that fit the longest names (capped, so one odd name cannot eat the message)."""
        host = max((len(h) for h in hosts), default=0)
        comp = max((len(c) for c in components), default=0)
        return cls(max(4, min(MAX_HOST_WIDTH, host)), max(4, min(MAX_COMPONENT_WIDTH, comp)))


def message_of(event: LogEvent) -> str:
    """The part of the line the message column shows (v3/v2 time and severity prefix removed)."""
    text = event.text
    if event.fmt == LineFormat.V3:
        match = _V3_PREFIX.match(text)
        if match:
            return text[match.end() :]
    elif event.fmt == LineFormat.V2:
        match = _V2_PREFIX.match(text)
        if match:
            return text[match.end() :]
    return text


def fit(text: str, width: int) -> str:
    """Pad or cut ``text`` to exactly ``width`` characters (a cut ends in ``…``)."""
    if len(text) <= width:
        return text.ljust(width)
    return text[: max(0, width - 1)] + "…"


def fit_cells(text: str, width: int) -> str:
    """Pad or cut ``text`` to exactly ``width`` terminal cells (wide characters count two)."""
    if text.isascii():
        return text[:width].ljust(width)
    return set_cell_size(text, width)


def clock_text(ts: float) -> str:
    """``HH:MM:SS`` in UTC: Postal containers log in UTC, and the column must match the lines."""
    return time.strftime("%H:%M:%S", time.gmtime(ts))


CONTINUED = "  ↳"
"""The level cell of a physical line that continues the record above it (Enter shows the whole record)."""


def level_label(event: LogEvent) -> str:
    """The level cell: the severity, or :data:`CONTINUED` for a record's second physical line."""
    if event.fmt == LineFormat.CONTINUATION:
        return CONTINUED.ljust(LEVEL_WIDTH)
    return LEVEL_LABELS.get(event.level, "-").ljust(LEVEL_WIDTH)


def row_cells(event: LogEvent, columns: Columns, budget: int) -> tuple[str, str, str, str, str]:
    """The five cells of a row: time, host, component, level, message, all display-safe.

    Args:
        event: the stored event.
        columns: fixed column widths.
        budget: at most this many characters of the message are processed (the row is cut
            to the screen width anyway; a 1 MB line must not be sanitised whole per frame).
    """
    message = message_of(event)
    if len(message) > budget:
        message = message[:budget]
    return (
        clock_text(event.ts),
        fit(display_text(event.host), columns.host),
        fit(display_text(event.component), columns.component),
        level_label(event),
        display_text(message),
    )

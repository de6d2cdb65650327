"""The time window of a review: ``--since 7d`` or ``--from 2026-04-27T09:00 --to 2026-04-28``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)([smhdw]))+")
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
MAX_WINDOW = 92 * 86400.0
"""Longest window accepted (about a quarter)."""


class WindowError(ValueError):
    """A window that cannot be used; the message says how to write one."""


@dataclass(frozen=True, slots=True)
class Window:
    """``[start, end)`` in UNIX seconds (UTC)."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        """Length of the window."""
        return self.end - self.start

    def contains(self, ts: float) -> bool:
        """True when ``ts`` lies in the window."""
        return self.start <= ts < self.end

    def label(self) -> str:
        """``2026-04-27 09:00 - 2026-04-28 09:00 UTC (24h)``."""
        return f"{fmt_time(self.start)} - {fmt_time(self.end)} UTC ({fmt_duration(self.seconds)})"


def parse_duration(text: str) -> float:
    """Seconds of ``7d``, ``36h``, ``1h30m``.

    Raises:
        WindowError: when ``text`` is not a positive duration.
    """
    value = text.strip().lower()
    if not _DURATION.fullmatch(value):
        raise WindowError(f"{text!r} is not a duration: write e.g. 7d, 36h, 1h30m (units s m h d w)")
    seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(value))
    if seconds <= 0:
        raise WindowError(f"{text!r}: the duration must be positive")
    return seconds


def parse_time(text: str) -> float:
    """UNIX time of an ISO date/time in UTC (``2026-04-28``, ``2026-04-28T09:00``, ``… 09:00:00``).

    Raises:
        WindowError: when ``text`` is not such a time.
    """
    value = text.strip().replace(" ", "T").removesuffix("Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise WindowError(f"{text!r} is not a time: write 2026-04-28 or 2026-04-28T09:00 (UTC)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def make_window(
    *, now: float, since: str | None = None, start: str | None = None, end: str | None = None
) -> Window:
    """The window from the command-line options (``since`` defaults to 1d when nothing is given).

    Raises:
        WindowError: for a bad value, ``since`` combined with ``start``, or an empty/too long window.
    """
    if since is not None and start is not None:
        raise WindowError("give either --since or --from/--to, not both")
    stop = parse_time(end) if end is not None else now
    begin = parse_time(start) if start is not None else stop - parse_duration(since or "1d")
    if begin >= stop:
        raise WindowError("the window is empty: --from must be before --to")
    if stop - begin > MAX_WINDOW:
        raise WindowError(f"the window is longer than {fmt_duration(MAX_WINDOW)}")
    return Window(begin, stop)


def fmt_time(ts: float) -> str:
    """``2026-04-28 09:00`` (UTC)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def fmt_duration(seconds: float) -> str:
    """``7d``, ``24h``, ``90m``, ``45s`` (the largest unit that divides it)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{int(seconds)}s"

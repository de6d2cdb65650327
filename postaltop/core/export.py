"""Turn log events into export text: JSON Lines or CSV. Pure: the caller writes the file.

Both functions are generators, so exporting a million lines never builds one huge string; the
UI writes the pieces as they come (``file.writelines(to_csv(events))``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from postaltop.core.events import LogEvent

CSV_HEADER = ("time", "host", "component", "level", "format", "text")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def iso_time(ts: float) -> str:
    """``ts`` as ISO-8601 UTC with milliseconds, e.g. ``2026-04-28T09:14:02.000Z`` (empty if invalid)."""
    try:
        return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (ValueError, OverflowError, OSError):
        return ""


def to_jsonl(events: Iterable[LogEvent]) -> Iterator[str]:
    """Yield one JSON object per event, each ending with a newline.

    Keys: ``seq``, ``time`` (ISO-8601 UTC), ``ts`` (UNIX seconds), ``host``, ``component``,
    ``level``, ``format`` and ``text``. Control characters (escape sequences, NUL) are escaped by
    JSON, so the file is safe to ``cat``.
    """
    for ev in events:
        record = {
            "seq": ev.seq,
            "time": iso_time(ev.ts),
            "ts": ev.ts if ev.ts == ev.ts and abs(ev.ts) != float("inf") else None,
            "host": ev.host,
            "component": ev.component,
            "level": ev.level.name.lower(),
            "format": ev.fmt.name.lower(),
            "text": ev.text,
        }
        yield json.dumps(record, ensure_ascii=False) + "\n"


_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Control characters a CSV cell must not carry raw (ESC, BEL, C1...): log content is untrusted, and
``cat``/``less -R`` of the file would run its escape sequences. Tab, LF and CR are CSV's business."""


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection): prefix risky first characters with ``'``.

    Control characters (NUL, ESC, BEL, C1) are written as ``\\xNN``.
    """
    value = _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(events: Iterable[LogEvent]) -> Iterator[str]:
    """Yield the CSV header row, then one row per event (each with its ``\\r\\n`` terminator).

    Columns: time (ISO-8601 UTC), host, component, level, format, text. Every cell that a
    spreadsheet would read as a formula (starting with ``= + - @``, tab or CR) gets a ``'`` prefix.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    yield buffer.getvalue()
    for ev in events:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            [
                _cell(iso_time(ev.ts)),
                _cell(ev.host),
                _cell(ev.component),
                ev.level.name.lower(),
                ev.fmt.name.lower(),
                _cell(ev.text),
            ]
        )
        yield buffer.getvalue()

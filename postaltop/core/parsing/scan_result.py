"""What the ingest scan returns for a batch, and what it remembers about each stream between batches."""

from __future__ import annotations

from collections.abc import MutableSequence, Sequence
from dataclasses import dataclass, field
from typing import Any

from postaltop.core.events import Level

_UNKNOWN = int(Level.UNKNOWN)


@dataclass(slots=True)
class StreamState:
    """What the scan remembers about one (host, component) stream between batches."""

    last_ts: float | None = None
    """Time of the last line that had one (continuation and raw lines inherit it)."""
    last_level: int = _UNKNOWN
    """Level of the last record (continuation lines inherit it)."""
    last_component: int = 0
    """Component id of the last line (used when a line names none)."""


@dataclass(slots=True)
class ScanResult:
    """Store columns for one batch, plus where facts may be.

    Fact candidates come in two lists: ``fast`` for plain v3 lines, ``candidates`` for lines the
    slow path recognised (all v2 and continuation lines are included); their bytes to parse are
    the stored line, or an SGR-stripped copy for ANSI-highlighted lines.
    """

    lines: Sequence[bytes]
    ts: list[float] = field(default_factory=list)
    level: list[int] = field(default_factory=list)
    component: MutableSequence[int] = field(default_factory=list)
    """A list, or an ``array('H')`` when the stream's component is fixed (extends in C)."""
    fmt: MutableSequence[int] = field(default_factory=list)
    """An ``array('B')`` (store-ready)."""
    fast: list[int] = field(default_factory=list)
    """Indexes of well-formed v3 lines (message at byte 33) whose message start is a fact key."""
    candidates: list[tuple[int, bytes, int, int]] = field(default_factory=list)
    """Other candidates, in line order: ``(index, bytes to parse, message offset, format)``."""
    joined: bytes | None = None
    """``lines`` joined by ``\\n`` when the vectorised pass ran and no line was changed (the store copies
    it whole), else None."""
    starts: Any = None
    """With ``joined``: each line's offset in it (a numpy int64 array)."""
    arrays: tuple[Any, Any] | None = None
    """With ``joined``, when every line was plain v3: ``ts`` and ``level`` as numpy arrays (the store
    copies their memory)."""


def positions(column: list[float], value: float) -> list[int]:
    """Indexes where ``column`` equals ``value`` (``list.index`` does the scanning in C)."""
    found: list[int] = []
    i = -1
    try:
        while True:
            i = column.index(value, i + 1)
            found.append(i)
    except ValueError:
        return found

"""The facts of one ingested batch, built when first asked for.

Finding the lines that may carry a fact is part of the scan (one cached lookup per line). Building
a fact is what costs: an anchored regex, tag look-ups, decoding and a frozen dataclass, several
microseconds each, and about one line in five is a candidate. Most consumers want only a few kinds
(detection reads AUTH failures; the exporter counts every kind), so a batch keeps its candidate
lines and builds facts on request: every one (:meth:`FactBatch.all`), or only those of some
classes (:meth:`FactBatch.of`), which runs no handler that cannot yield them. Either way the
result is exactly what eager extraction gives, in line order.
"""

from __future__ import annotations

from collections.abc import Sequence

from postaltop.core.facts import Fact, extract_indexes, keys_for
from postaltop.core.session_rows import SESSION_KINDS, SessionRow, rows_of, session_rows


class FactBatch:
    """Candidate lines of one batch plus the facts already built (slow-path lines, split records).

    Args:
        lines: the stored lines of the batch (never changed afterwards).
        indexes: the well-formed v3 candidates among them (message at byte 33), ascending.
        ts: the batch's time column.
        host: the host of the batch.
        first_seq: sequence number of ``lines[0]``.
        built: facts extracted at ingest, in any order (their lines are not in ``indexes``).
    """

    __slots__ = ("_all", "_built", "_first", "_host", "_indexes", "_lines", "_ts")

    def __init__(
        self,
        lines: Sequence[bytes],
        indexes: Sequence[int],
        ts: Sequence[float],
        host: str,
        first_seq: int,
        built: list[Fact],
    ) -> None:
        self._lines = lines
        self._indexes = indexes
        self._ts = ts
        self._host = host
        self._first = first_seq
        self._built = built
        self._all: list[Fact] | None = None

    def all(self) -> list[Fact]:
        """Every fact of the batch, in line order (built once, then kept)."""
        if self._all is None:
            found = extract_indexes(self._lines, self._indexes, self._ts, self._host, self._first)
            self._all = _merged(found, self._built)
            self._lines, self._indexes, self._ts, self._built = (), (), (), []
        return self._all

    def of(self, *kinds: type[Fact]) -> list[Fact]:
        """The facts that are instances of ``kinds``, in line order (the same as filtering :meth:`all`)."""
        if self._all is not None:
            return [f for f in self._all if isinstance(f, kinds)]
        keys = keys_for(kinds)
        lines = self._lines
        wanted = [i for i in self._indexes if lines[i][33:37] in keys]
        found = extract_indexes(lines, wanted, self._ts, self._host, self._first) if wanted else []
        built = [f for f in self._built if isinstance(f, kinds)]
        return _merged([f for f in found if isinstance(f, kinds)], built)

    def sessions(self) -> list[SessionRow]:
        """The rows of ``of(*SESSION_KINDS)`` (:mod:`postaltop.core.session_rows`), built without facts."""
        if self._all is not None:
            return rows_of(self._all)
        rows = session_rows(self._lines, self._indexes, self._ts, self._host, self._first)
        built = [f for f in self._built if isinstance(f, SESSION_KINDS)]
        if built:
            rows.extend(rows_of(built))
            rows.sort(key=_row_seq)
        return rows


def _merged(found: list[Fact], built: list[Fact]) -> list[Fact]:
    if not built:
        return found
    found.extend(built)
    found.sort(key=_seq_of)
    return found


def _seq_of(fact: Fact) -> int:
    return fact.seq


def _row_seq(row: SessionRow) -> int:
    return row[0]

"""The filtered view over the log store: the sequence numbers of the retained lines that match.

Matches are kept in one ``array('q')`` (8 bytes per match, no int objects), oldest first.
Eviction never shifts the array: matches that fell out of the store are skipped by advancing a
start index, and the dead prefix is dropped only once it is at least half the array (amortised
O(1) per evicted match). New lines are tested incrementally by ``refresh``; ``set_query`` re-applies
the filter to every retained line.

The view reflects the store as of the last ``refresh``/``set_query``; call ``refresh`` on the UI's
flush timer. Scanning reads a snapshot of the store's block list, so ``set_query`` may run in a
worker thread while lines keep arriving; the lines it did not see are picked up by the next
``refresh``. A view must not be used from two threads at once.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from dataclasses import dataclass

from postaltop.core.logstore import LogStore
from postaltop.core.matcher import BlockStats, Matcher
from postaltop.core.query import Query


@dataclass(frozen=True, slots=True)
class PreparedQuery:
    """A filter applied to the store up to ``end`` (exclusive), ready for ``FilteredView.install``."""

    query: Query | None
    matcher: Matcher
    seqs: array[int]
    end: int
    stats: BlockStats


class FilteredView:
    """The retained lines of ``store`` that match ``query``, addressed by row (0 = oldest match).

    Args:
        store: the log store to filter.
        query: the filter; None (or an empty query) shows every line.
    """

    def __init__(self, store: LogStore, query: Query | None = None) -> None:
        self._store = store
        self._query: Query | None = None
        self._matcher = Matcher(None)
        self._seqs: array[int] = array("q")
        self._head = 0
        self._scanned_to = store.start_seq
        self._stats: BlockStats = {}
        """Time bounds of sealed blocks, reused by every re-apply (sealed blocks never change)."""
        self.set_query(query)

    @property
    def query(self) -> Query | None:
        """The current filter (None when unfiltered)."""
        return self._query

    @property
    def total(self) -> int:
        """How many lines the store retains (matching or not)."""
        return len(self._store)

    @property
    def store(self) -> LogStore:
        """The store this view filters."""
        return self._store

    def set_query(self, query: Query | None) -> None:
        """Replace the filter and re-apply it to every retained line."""
        self._prune_stats()
        self.install(self._prepare(query, self._stats))

    def prepare(self, query: Query | None) -> PreparedQuery:
        """Apply ``query`` to every retained line without touching the view (safe in a worker thread).

        The view keeps showing the current filter (and ``refresh`` may keep running on another
        thread) until :meth:`install` swaps the result in; lines appended meanwhile are picked up
        by the next ``refresh``.
        """
        return self._prepare(query, {})

    def _prepare(self, query: Query | None, stats: BlockStats) -> PreparedQuery:
        matcher = Matcher(query)
        seqs: array[int] = array("q")
        end = self._store.end_seq
        matcher.scan(self._store, self._store.start_seq, end, seqs, stats)
        return PreparedQuery(query, matcher, seqs, end, stats)

    def install(self, prepared: PreparedQuery) -> None:
        """Show a result made by :meth:`prepare` (call from the thread that uses the view)."""
        if prepared.stats is not self._stats:
            self._stats.update(prepared.stats)
        # Swap in one step, so a reader never sees a half-built result.
        self._query, self._matcher, self._seqs, self._head, self._scanned_to = (
            prepared.query,
            prepared.matcher,
            prepared.seqs,
            0,
            prepared.end,
        )

    def refresh(self) -> int:
        """Drop matches evicted from the store and test the lines appended since the last call.

        Returns:
            How many new matching lines were added.
        """
        store = self._store
        start = store.start_seq
        seqs = self._seqs
        if self._head < len(seqs) and seqs[self._head] < start:
            self._head = bisect_left(seqs, start, self._head)
            if self._head * 2 >= len(seqs):
                del seqs[: self._head]
                self._head = 0
        self._prune_stats()
        end = store.end_seq
        begin = max(self._scanned_to, start)
        self._scanned_to = end
        if begin >= end:
            return 0
        return self._matcher.scan(store, begin, end, seqs, self._stats)

    def _prune_stats(self) -> None:
        blocks = self._store.blocks
        if len(self._stats) > len(blocks) + 16:
            oldest = blocks[0].first_seq if blocks else self._store.end_seq
            self._stats = {k: v for k, v in self._stats.items() if k >= oldest}

    def __len__(self) -> int:
        return len(self._seqs) - self._head

    def seq_at(self, row: int) -> int:
        """The sequence number of matching row ``row`` (0 = oldest match).

        Raises:
            IndexError: if ``row`` is not in ``range(len(self))``.
        """
        if not 0 <= row < len(self):
            raise IndexError(f"row {row} out of range (view has {len(self)} rows)")
        return self._seqs[self._head + row]

    def row_of(self, seq: int) -> int | None:
        """The row showing line ``seq``, or None if that line does not match (or is gone)."""
        seqs = self._seqs
        i = bisect_left(seqs, seq, self._head)
        if i < len(seqs) and seqs[i] == seq:
            return i - self._head
        return None

    def nearest_row(self, seq: int) -> int | None:
        """The row of the first matching line at or after ``seq`` (else the last row); None if empty.

        Useful to keep the operator's place when the filter changes and the line they were on
        no longer matches.
        """
        if not len(self):
            return None
        i = bisect_left(self._seqs, seq, self._head)
        return min(i - self._head, len(self) - 1)

    def seqs(self, start: int, stop: int) -> list[int]:
        """The sequence numbers of rows ``[start, stop)`` (clamped to the view)."""
        n = len(self)
        start = max(0, min(start, n))
        stop = max(start, min(stop, n))
        return self._seqs[self._head + start : self._head + stop].tolist()

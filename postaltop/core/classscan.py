"""Search a block for a fixed-width run of one-byte classes with numpy: case-insensitive words
(:func:`postaltop.core.classpattern.folded_literal`) and regexes such as ``/5\\d\\d /``
(:func:`postaltop.core.classpattern.fixed_pattern`).

A word or regex that matches many lines (``unqueue`` in one line of six, ``/5\\d\\d /`` in one of
fifteen) is where a per-hit loop costs most: one RE2 call per matching line (~1 us in the binding),
or a bisect to turn each hit into a line number. Here the block is tested at once, without a
lower-cased copy of the text:

* the element expected least often (by the byte frequencies of the first block searched) is tested
  over the whole buffer, giving candidate starts; when it is still common, a second element is
  tested over the whole buffer too and ANDed (see :meth:`ClassScan._prepare`); with ``^`` or ``$``
  the candidates are the line starts (ends) instead, a few thousand per block;
* every other element is tested at the candidates only, rarest first, shrinking them as it goes;
* the surviving starts are mapped to line numbers with ``searchsorted`` over the line offsets.

An element is tested with one comparison (one byte), ``| 0x20`` and a comparison (a letter in both
cases), an unsigned subtraction and comparison (a range such as ``\\d``) or a 256-entry table.
No element holds ``\\n``, so a match never spans lines, as with RE2's ``never_nl``. A buffer that
may still grow (the open block) is copied first: numpy keeps a view of the memory, and a
``bytearray`` with a live view cannot be resized by the ingest thread.
"""

from __future__ import annotations

import threading
from array import array
from typing import Any

from postaltop.core import bytescan
from postaltop.core.classpattern import FixedPattern

_SAMPLE = 1 << 18
"""Bytes of the first block searched whose byte frequencies order the elements."""
_PASS_NS = 0.04
"""CPU ns per byte of one numpy pass over a block (a comparison, an ``|``, a subtraction), measured."""
_CANDIDATE_NS = 20.0
"""CPU ns per candidate start: ~15 in ``flatnonzero`` (a mispredicted branch) and ~5 in the next check."""
_PASSES = (1, 2, 2, 6)
"""Passes of each test kind (byte, letter, range, table lookup)."""

_local = threading.local()


def _scratch(size: int) -> tuple[Any, Any, Any]:
    """The thread's scratch buffers (uint8, two of flags) of at least ``size`` elements, reused: a
    fresh 0.5 MB temporary per block is mapped anew and page-faults on first touch."""
    np = bytescan.numpy()
    found = getattr(_local, "buffers", None)
    if found is None or len(found[0]) < size:
        room = max(size, 1 << 20)
        found = _local.buffers = (
            np.empty(room, dtype=np.uint8),
            np.empty(room, dtype=np.bool_),
            np.empty(room, dtype=np.bool_),
        )
    return found


_BYTE, _LETTER, _RANGE, _TABLE = range(4)


def _kind(members: frozenset[int]) -> tuple[int, int, int]:
    """How a class is tested: (kind, the byte or lowest byte, the range's span)."""
    low, high = min(members), max(members)
    if low == high:
        return _BYTE, low, 0
    if len(members) == 2 and high == low | 0x20 and 0x61 <= high <= 0x7A:
        return _LETTER, high, 0
    if len(members) == high - low + 1:
        return _RANGE, low, high - low
    return _TABLE, low, 0


class ClassScan:
    """The line-level search of one :class:`FixedPattern`."""

    def __init__(self, pattern: FixedPattern) -> None:
        self.pattern = pattern
        self.width = len(pattern.classes)
        self._order: list[int] | None = None
        self._pair = False
        self._tables: list[Any] = []
        self._kinds = [_kind(members) for members in pattern.classes]

    def _prepare(self, text: Any) -> list[int]:
        """Element indexes in testing order (from the byte frequencies of a sample of ``text``).

        First the class expected least often; then the element whose test over the whole buffer
        too (a second pass, ANDed) costs least against the candidates it removes, measured on the
        sample (adjacent bytes are correlated: ``q`` is nearly always followed by ``u``), if that
        beats the first alone.
        """
        np = bytescan.numpy()
        sample = text[:_SAMPLE]
        counts = np.bincount(sample, minlength=256)
        classes = self.pattern.classes
        self._tables = [np.array([b in members for b in range(256)], dtype=np.bool_) for members in classes]
        weight = [int(counts[sorted(members)].sum()) for members in classes]
        order = sorted(range(self.width), key=lambda k: (weight[k], -k))
        n = len(sample) - self.width + 1
        if self.width > 1 and n > 0:
            first = self._test(sample[order[0] : order[0] + n], order[0])
            alone = int(np.count_nonzero(first)) * _CANDIDATE_NS
            cost = {
                k: (_PASSES[self._kinds[k][0]] + 1) * _PASS_NS * n
                + int(np.count_nonzero(first & self._test(sample[k : k + n], k))) * _CANDIDATE_NS
                for k in order[1:]
            }
            second = min(order[1:], key=lambda k: (cost[k], weight[k]))
            self._pair = cost[second] < alone
            if self._pair:
                order = [order[0], second, *(k for k in order[1:] if k != second)]
        self._order = order
        return order

    def _test(self, values: Any, k: int, out: Any = None, tmp: Any = None) -> Any:
        """Whether each of ``values`` (uint8) is in element ``k``'s class (into ``out``, using the
        uint8 scratch ``tmp``, when given: see :func:`bytescan.scratch`)."""
        np = bytescan.numpy()
        kind, low, span = self._kinds[k]
        if kind == _BYTE:
            return np.equal(values, low, out=out)
        if kind == _LETTER:
            return np.equal(np.bitwise_or(values, np.uint8(0x20), out=tmp), low, out=out)
        if kind == _RANGE:
            return np.less_equal(np.subtract(values, np.uint8(low), out=tmp), span, out=out)
        return np.take(self._tables[k], values, out=out)

    def _candidates(self, text: Any, line_starts: Any, order: list[int]) -> Any:
        """Candidate starts (positions in ``text``) and the elements still to test."""
        np = bytescan.numpy()
        size, pattern = len(text), self.pattern
        if pattern.at_start:
            starts = line_starts
        elif pattern.at_end:
            ends = np.append(line_starts[1:], size) - 1  # each line's newline
            starts = ends - self.width
        elif self._pair:
            n = size - self.width  # a start s has s + width <= size - 1 (the last newline)
            if n <= 0:
                return np.empty(0, dtype=np.int64), []
            first, second = order[0], order[1]
            tmp, flags, other = _scratch(size)
            self._test(text[first : first + n], first, flags[:n], tmp[:n])
            self._test(text[second : second + n], second, other[:n], tmp[:n])
            return np.flatnonzero(np.logical_and(flags[:n], other[:n], out=flags[:n])), order[2:]
        else:
            first = order[0]
            tmp, flags, _ = _scratch(size)
            hits = np.flatnonzero(self._test(text, first, flags[:size], tmp[:size]))
            return bytescan.within(hits, first, size - self.width - 1 + first) - first, order[1:]
        return bytescan.within(starts, 0, size - self.width - 1), order

    def lines(self, buf: bytes | bytearray, offsets: array[int], start: int, stop: int) -> Any:
        """Indexes (ascending, unique, a numpy array) of the lines in ``[start, stop)`` matching.

        ``buf`` holds the block's lines, each ending with ``\\n``; ``offsets`` where each starts.
        """
        np = bytescan.numpy()
        lo = offsets[start]
        hi = offsets[stop] if stop < len(offsets) else len(buf)
        if isinstance(buf, bytes):
            data, base = buf, lo
        else:  # the open block grows under a view: search a copy
            data, base = bytes(buf[lo:hi]), 0
        text = np.frombuffer(data, dtype=np.uint8, count=hi - lo, offset=base)
        order = self._order if self._order is not None else self._prepare(text)
        line_starts = np.frombuffer(offsets[start:stop], dtype=np.uint32).astype(np.int64) - lo
        starts, rest = self._candidates(text, line_starts, order)
        for k in rest:
            if not len(starts):
                break
            starts = starts[self._test(text[k:][starts], k)]
        if len(starts) and self.pattern.at_start and self.pattern.at_end:  # else ``$`` chose them
            starts = starts[text[starts + self.width] == 0x0A]
        if not len(starts):
            return starts
        found = np.searchsorted(line_starts, starts, side="right") - 1
        if len(found) > 1:  # ascending: drop repeats (a line matching twice)
            found = found[np.concatenate(([True], found[1:] != found[:-1]))]
        return found + start

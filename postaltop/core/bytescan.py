"""Vectorised searches over a block's text buffer (numpy), for dense case-insensitive words.

A word that matches many lines (``unqueue`` in one line of six) is where a per-hit loop in CPython
costs most: turning each hit position into a line number (a bisect, ~0.3-0.5 us) and marking it.
Here the whole block is compared at once, without a lower-cased copy of the text:

* the word's *rarest* byte (by a fixed ranking of how often bytes occur in log text) is looked
  up over the whole buffer (one comparison, ASCII letters folded with ``| 0x20``), giving the
  candidate starts;
* each other byte of the word is then checked at the candidates only, shrinking them as it goes;
* the surviving starts are mapped to line numbers with ``searchsorted`` over the line offsets.

Measured by ``bench/filter.py`` on 1,000,000 lines (245 blocks, 15.8 % matching ``unqueue``): 66-116 ms
CPU at load averages of 20-45, against 93-109 ms for a bare per-line ``word in line`` over the same
lines as ``str``, and 248 ms for the per-hit loop over lower-cased copies it replaces; no
lower-cased copy is kept (the store stays ~1.14x the raw bytes).

ASCII letters fold (``b | 0x20`` equals a lower-case letter only for that letter and its upper
case); every other byte, including bytes >= 0x80, is compared exactly: the same rule as
``bytes.lower``. A buffer that may still grow (the open block) is copied first, since numpy keeps
a view of the memory and a ``bytearray`` with a live view cannot be resized by the ingest thread.
"""

from __future__ import annotations

import importlib.util
import threading
from array import array
from typing import Any

_np: Any = None

AVAILABLE = importlib.util.find_spec("numpy") is not None
"""Whether the vectorised search can run (else the matcher uses its per-hit path). numpy itself is
imported on first use, not with the matcher: it takes 0.1-0.4 s, which the app's first paint should
not pay. Dense searches import it; the cheap paths (emitting matches, mapping a few regex hits) use
it only once it is loaded."""


def numpy() -> Any:
    """The numpy module, imported on first use."""
    global _np
    if _np is None:
        import numpy as np_module

        _np = np_module
    return _np


def loaded() -> bool:
    """Whether numpy was imported already (cheap paths use it only then)."""
    return _np is not None


_COMMON = b" eatsionrlcd0123456789muhpg-=_:.fbywkv/x>|<'jqz"
"""Bytes of Postal's log text from the most frequent to the rarer ones (measured on the benches'
lines; only the order matters). Bytes not listed count as rarer than any listed."""
_RANK = bytes(
    _COMMON.index(bytes([c]).lower()) if bytes([c]).lower() in _COMMON else len(_COMMON) for c in range(256)
)


def rarest(word: bytes) -> int:
    """Index of the byte of ``word`` (lower-cased) expected least often in log text."""
    return max(range(len(word)), key=lambda k: (_RANK[word[k]] if word[k] < 128 else 255, -k))


def _eq(values: Any, byte: int) -> Any:
    """``values == byte``, ASCII case-folded when ``byte`` is a lower-case letter."""
    if 0x61 <= byte <= 0x7A:
        return (values | 0x20) == byte
    return values == byte


_scratch = threading.local()


def _fold_mask(byte: int) -> int:
    return 0x20 if 0x61 <= byte <= 0x7A else 0


def scratch(size: int) -> tuple[Any, Any]:
    """The thread's scratch buffers (bytes and flags) of at least ``size`` elements (also used by
    :mod:`postaltop.core.classscan`).

    A fresh 0.5 MB temporary per block is mapped anew by the allocator and page-faults on first touch
    (~0.1 ms each); these are touched once.
    """
    np = numpy()
    folded, equal = getattr(_scratch, "folded", None), getattr(_scratch, "equal", None)
    if folded is None or equal is None or len(folded) < size:
        folded = _scratch.folded = np.empty(max(size, 1 << 20), dtype=np.uint8)
        equal = _scratch.equal = np.empty(len(folded), dtype=np.bool_)
    return folded, equal


def _byte_hits(text: Any, byte: int) -> Any:
    """Positions in ``text`` equal to ``byte`` (folded as :func:`_eq`)."""
    np = numpy()
    size = len(text)
    folded, equal = scratch(size)
    out = equal[:size]
    if _fold_mask(byte):
        np.bitwise_or(text, 0x20, out=folded[:size])
        np.equal(folded[:size], byte, out=out)
    else:
        np.equal(text, byte, out=out)
    return np.flatnonzero(out)


def within(positions: Any, low: int, high: int) -> Any:
    """The part of the ascending ``positions`` in ``[low, high]`` (a view: two binary searches, where
    a boolean filter would make three passes over them)."""
    np = numpy()
    return positions[np.searchsorted(positions, low) : np.searchsorted(positions, high, side="right")]


def folded_lines(buf: bytes | bytearray, offsets: array[int], start: int, stop: int, word: bytes) -> Any:
    """Indexes (ascending, unique, as a numpy array) of the lines in ``[start, stop)`` holding ``word``.

    Args:
        buf: the block's text (lines joined by ``\\n``, one after the last).
        offsets: where each line of the block starts in ``buf``.
        start: the first line to test.
        stop: one past the last line to test.
        word: the word, lower-cased (ASCII); it holds no newline.
    """
    np = numpy()
    lo = offsets[start]
    hi = offsets[stop] if stop < len(offsets) else len(buf)
    if isinstance(buf, bytes):
        data, base = buf, lo
    else:  # the open block grows under a view: search a copy
        data, base = bytes(buf[lo:hi]), 0
    text = np.frombuffer(data, dtype=np.uint8, count=hi - lo, offset=base)
    size = len(word)
    anchor = rarest(word)
    starts = within(_byte_hits(text, word[anchor]), anchor, len(text) - size + anchor) - anchor
    for k in range(size):
        if k != anchor and len(starts):
            starts = starts[_eq(text[k:][starts], word[k])]
    if not len(starts):
        return starts
    line_starts = np.frombuffer(offsets[start:stop], dtype=np.uint32).astype(np.int64) - lo
    lines = np.searchsorted(line_starts, starts, side="right") - 1
    if len(lines) > 1:  # ascending: drop repeats (a line holding the word twice)
        lines = lines[np.concatenate(([True], lines[1:] != lines[:-1]))]
    return lines + start


def lines_at(offsets: array[int], start: int, stop: int, positions: list[int]) -> Any:
    """Line indexes (a numpy array) of the byte ``positions`` (ascending, within lines ``[start, stop)``)."""
    np = numpy()
    line_starts = np.frombuffer(offsets[start:stop], dtype=np.uint32)
    return np.searchsorted(line_starts, np.array(positions, dtype=np.uint32), side="right") - 1 + start


def mark(mask: bytearray, lines: Any, start: int) -> None:
    """Set ``mask[i - start]`` to 1 for each line index ``i`` of the numpy array ``lines``."""
    np = numpy()
    if len(lines):
        out = np.frombuffer(mask, dtype=np.uint8)
        out[lines - start] = 1


def emit(out: array[int], mask: bytes, first: int) -> None:
    """Append ``first + i`` for each set byte ``mask[i]`` to ``out`` (an ``array('q')``), in C."""
    assert out.typecode == "q"
    np = numpy()
    found = np.flatnonzero(np.frombuffer(mask, dtype=np.uint8))
    out.frombytes((found + first).astype(np.int64).tobytes())

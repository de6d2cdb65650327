"""The parts every block scanner of :mod:`postaltop.core.matcher` shares: the RE2 call, the
0/1 line masks and their combination, the block context and the scanner protocol."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import re2

from postaltop.core import bytescan
from postaltop.core.logstore import Block, LogStore
from postaltop.core.query import re2_options

_FLIP = bytes([1, 0]) + bytes(254)


class _Re2:
    """A compiled RE2 pattern; ``raw(anchor, buf, pos, end)[0][0]`` is the first match start or -1.

    The raw C++ call skips the wrapper's generator and Match object (~2.5x cheaper per call).
    """

    __slots__ = ("anchor", "raw")

    def __init__(self, pattern: str | bytes, *, ignore_case: bool = False, latin1: bool = False) -> None:
        rx = re2.compile(pattern, re2_options(ignore_case=ignore_case, latin1=latin1))
        raw = getattr(rx, "_regexp", None)
        self.anchor = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
        if raw is not None and self.anchor is not None:
            self.raw: Callable[..., list[tuple[int, int]]] = raw.Match
        else:  # pragma: no cover - another google-re2 layout

            def search(_anchor: object, buf: bytes | bytearray, pos: int, end: int) -> list[tuple[int, int]]:
                found = rx.search(buf, pos, end)
                return [(-1, -1)] if found is None else [found.span()]

            self.raw = search

    def first(self, buf: bytes | bytearray, pos: int, end: int) -> int:
        """Start of the first match in ``buf[pos:end]`` (absolute position), or -1."""
        return int(self.raw(self.anchor, buf, pos, end)[0][0])


def _and(a: bytes, b: bytes) -> bytes:
    """``a & b`` byte by byte (0/1 masks of one block): numpy once it is loaded (~3 us per 4,096-line
    mask), else through two big ints (~15 us)."""
    if bytescan.loaded():
        x, y = _arrays(a, b)
        both: bytes = (x & y).tobytes()
        return both
    return (int.from_bytes(a, "little") & int.from_bytes(b, "little")).to_bytes(len(a), "little")


def _or(a: bytes, b: bytes) -> bytes:
    """``a | b`` byte by byte, as :func:`_and`."""
    if bytescan.loaded():
        x, y = _arrays(a, b)
        either: bytes = (x | y).tobytes()
        return either
    return (int.from_bytes(a, "little") | int.from_bytes(b, "little")).to_bytes(len(a), "little")


def _arrays(a: bytes, b: bytes) -> tuple[Any, Any]:
    """The two masks as numpy byte arrays (views, no copy)."""
    np = bytescan.numpy()
    return np.frombuffer(a, dtype=np.uint8), np.frombuffer(b, dtype=np.uint8)


class _Ctx:
    """Lines ``[start, stop)`` of one block under test, with a lazily lower-cased copy."""

    __slots__ = ("block", "buf", "hi", "lo", "offs", "start", "stats", "stop", "store")

    def __init__(self, store: LogStore, block: Block, start: int, stop: int, stats: BlockStats) -> None:
        self.store = store
        self.block = block
        self.buf = block.buffer
        self.offs = block.offsets
        self.start = start
        self.stop = stop
        self.stats = stats
        self.lo = self.offs[start]
        self.hi = self.line_end(stop - 1)

    def line_end(self, i: int) -> int:
        """Position just after the newline of line ``i``."""
        offs = self.offs
        return offs[i + 1] if i + 1 < len(offs) else len(self.buf)

    def lowered(self) -> bytes:
        """The block's buffer lower-cased (ASCII), from the store's cache when it holds it."""
        low = self.block.lowered
        if low is None or len(low) != len(self.buf):
            low = self.store.lowered(self.block)
        if len(low) < self.hi:  # the open block was copied before this context's lines arrived
            low = bytes(self.buf[: self.hi]).lower()
        return low


BlockStats = dict[int, tuple[float, float]]
"""Per sealed block (keyed by ``first_seq``): min and max of its time column."""


class _Scanner(Protocol):
    rank: int
    """Evaluation order: cheap and selective first."""
    cand_ratio: int
    """Test candidates one by one once ``candidates * cand_ratio < lines`` (0: never)."""

    def mask(self, ctx: _Ctx) -> bytes: ...

    def select(self, ctx: _Ctx, rows: list[int]) -> list[int]: ...

"""A bounded, columnar ring of retained log lines.

Why this shape (measured on the project's 2-core machines, 1M lines of ~170 bytes):

* A Python object per line costs 60-100 bytes and ~0.3-1 us to create; at a million lines
  that is the whole memory and time budget. The store therefore keeps each block's lines as
  one ``bytes`` buffer (the line bytes joined by ``\\n``) plus ``array`` columns: start
  offset, time, level, host, component, format. Per line that is the raw bytes plus 18 bytes.
* Filters scan a block's buffer with C-level ``find``/``count`` and re2, and turn match
  positions into line numbers; no per-line object is created to filter.
* ``LogEvent`` objects are built only for rows on screen, the detail view and exports.
* Case-insensitive words that match many lines search a lower-cased copy of each block. Making
  that copy costs a pass over the text (~0.2 s per million lines), so sealed blocks keep it, up to
  ``lower_cache_ratio`` of the retained text bytes (default 0.75: the store then holds at most
  ~1.9x the raw line bytes). The copy lives on its block, so it leaves with it when the ring drops
  the block; the budget is never exceeded (no replacement: a full scan would thrash an LRU).

Blocks hold ``block_lines`` lines each (the last one is open for appends); whole blocks are
dropped from the front when the retained count exceeds ``capacity``. Lines keep their global
sequence number (``seq``) for life, so views and selections survive eviction.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from operator import add
from threading import Lock
from typing import Any

from postaltop.core.events import Level, LineFormat, LogEvent, decode_line
from postaltop.core.interner import Interner


@dataclass(slots=True)
class Block:
    """Up to ``block_lines`` consecutive lines: one text buffer and parallel columns.

    ``data`` holds the lines joined by ``\\n`` with a trailing ``\\n`` after each line, so line
    ``i`` is ``data[offsets[i]:offsets[i + 1] - 1]`` (the end of the last line is ``len(data) - 1``).
    """

    first_seq: int
    data: bytearray = field(default_factory=bytearray)
    offsets: array[int] = field(default_factory=lambda: array("I"))
    ts: array[float] = field(default_factory=lambda: array("d"))
    level: array[int] = field(default_factory=lambda: array("B"))
    host: array[int] = field(default_factory=lambda: array("H"))
    component: array[int] = field(default_factory=lambda: array("H"))
    fmt: array[int] = field(default_factory=lambda: array("B"))
    sealed: bytes | None = None
    """The immutable buffer once the block is full (``data`` is then emptied)."""
    lowered: bytes | None = None
    """The sealed buffer ASCII-lower-cased, when the store's cache holds it (see ``LogStore.lowered``)."""

    def __len__(self) -> int:
        return len(self.offsets)

    @property
    def buffer(self) -> bytes | bytearray:
        """The text buffer: ``bytes`` once sealed, the growing ``bytearray`` before."""
        return self.sealed if self.sealed is not None else self.data

    def line_bytes(self, i: int) -> bytes:
        """Return the raw bytes of line ``i`` of this block (without the newline)."""
        buf = self.buffer
        start = self.offsets[i]
        end = self.offsets[i + 1] - 1 if i + 1 < len(self.offsets) else len(buf) - 1
        return bytes(buf[start:end])

    def line_at(self, pos: int) -> int:
        """Return the index of the line containing byte position ``pos`` of the buffer."""
        return bisect_right(self.offsets, pos) - 1

    def seal(self) -> None:
        """Freeze the buffer: it becomes ``bytes`` (searchable without copies) and stops growing."""
        if self.sealed is None:
            self.sealed = bytes(self.data)
            self.data = bytearray()

    def nbytes(self) -> int:
        """Approximate memory held by this block (buffer plus columns)."""
        cols = (self.offsets, self.ts, self.level, self.host, self.component, self.fmt)
        low = len(self.lowered) if self.lowered is not None else 0
        return len(self.buffer) + low + sum(c.itemsize * c.buffer_info()[1] for c in cols)


class LogStore:
    """The retained lines of every host and component, in arrival order.

    Args:
        capacity: how many lines are retained at most; the oldest are dropped first.
        block_lines: lines per block (the eviction and scanning unit).
        lower_cache_ratio: the lower-cased copies of sealed blocks kept for case-insensitive
            search, at most this share of the retained text bytes (0 disables the cache).
    """

    def __init__(
        self, capacity: int = 1_000_000, block_lines: int = 4096, lower_cache_ratio: float = 0.75
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if block_lines < 16:
            raise ValueError("block_lines must be at least 16")
        if not 0.0 <= lower_cache_ratio <= 1.0:
            raise ValueError("lower_cache_ratio must be between 0 and 1")
        self.capacity = capacity
        self.block_lines = block_lines
        self.lower_cache_ratio = lower_cache_ratio
        self._cached_bytes = 0
        self._text_bytes = 0
        """Bytes of the sealed blocks' buffers (the cache budget is a share of it)."""
        self._cache_lock = Lock()
        """A filter may run in a worker thread while lines are appended (and blocks dropped)."""
        self.hosts = Interner([""])
        """Host names; id 0 is the empty name (host unknown)."""
        self.components = Interner([""])
        """Component names; id 0 is the empty name (component unknown)."""
        self.blocks: deque[Block] = deque()
        self._next_seq = 0
        self._start_seq = 0

    # -- size and bounds -------------------------------------------------------------

    @property
    def start_seq(self) -> int:
        """The oldest retained sequence number."""
        return self._start_seq

    @property
    def end_seq(self) -> int:
        """One past the newest sequence number (the next line gets this one)."""
        return self._next_seq

    def __len__(self) -> int:
        return self._next_seq - self._start_seq

    def nbytes(self) -> int:
        """Approximate memory held by retained blocks (lower-cased copies included)."""
        return sum(b.nbytes() for b in self.blocks)

    @property
    def lowered_bytes(self) -> int:
        """Bytes held by lower-cased copies of blocks."""
        return self._cached_bytes

    # -- lower-cased copies ----------------------------------------------------------

    def lowered(self, block: Block) -> bytes:
        """The block's buffer, ASCII-lower-cased (bytes ``0x80-0xff`` are left as they are).

        For a sealed block the copy is kept while the budget allows; for the open block (still
        growing) it is made afresh on each call.
        """
        low = block.lowered
        if low is not None:
            return low
        if block.sealed is None:
            return bytes(block.data).lower()
        low = block.sealed.lower()
        with self._cache_lock:
            retained = block.first_seq + len(block) > self._start_seq
            budget = self._text_bytes * self.lower_cache_ratio
            if retained and block.lowered is None and self._cached_bytes + len(low) <= budget:
                block.lowered = low
                self._cached_bytes += len(low)
        return low

    def may_lower(self, block: Block) -> bool:
        """Would ``lowered(block)`` keep the copy (a sealed block, within the budget)?"""
        if block.sealed is None:
            return False
        return self._cached_bytes + len(block.sealed) <= self._text_bytes * self.lower_cache_ratio

    def _seal(self, block: Block) -> None:
        block.seal()
        with self._cache_lock:
            self._text_bytes += len(block.buffer)

    def _forget(self, block: Block) -> None:
        """Account for a block leaving the ring (call with the cache lock held)."""
        if block.sealed is not None:
            self._text_bytes -= len(block.sealed)
        if block.lowered is not None:
            self._cached_bytes -= len(block.lowered)
            block.lowered = None

    # -- appending -------------------------------------------------------------------

    def append(
        self,
        line: bytes,
        ts: float,
        level: int = Level.UNKNOWN,
        host: int = 0,
        component: int = 0,
        fmt: int = LineFormat.RAW,
    ) -> int:
        """Append one line (without its newline); return its sequence number.

        Newlines inside ``line`` are replaced by spaces so one line stays one row.
        """
        if b"\n" in line:
            line = line.replace(b"\n", b" ")
        block = self._open_block()
        block.offsets.append(len(block.data))
        block.data += line
        block.data += b"\n"
        block.ts.append(ts)
        block.level.append(level)
        block.host.append(host)
        block.component.append(component)
        block.fmt.append(fmt)
        seq = self._next_seq
        self._next_seq += 1
        if len(block) >= self.block_lines:
            self._seal(block)
        self._evict()
        return seq

    def append_batch(
        self,
        lines: Sequence[bytes],
        ts: Sequence[float],
        level: Sequence[int],
        host: Sequence[int],
        component: Sequence[int],
        fmt: Sequence[int],
    ) -> int:
        """Append parallel columns of lines (the fast path); return the first sequence number.

        Lines must not contain ``\\n`` (the line splitters guarantee it).
        """
        first = self._next_seq
        n = len(lines)
        done = 0
        while done < n:
            block = self._open_block()
            room = self.block_lines - len(block)
            take = min(room, n - done)
            chunk = lines[done : done + take]
            # offset of line i: where the block's text ends, plus the lengths before it, plus i newlines
            ends = list(accumulate(map(len, chunk), initial=len(block.data)))
            block.offsets.extend(array("I", map(add, ends, range(take))))
            block.data += b"\n".join(chunk)
            block.data += b"\n"
            self._fill(block, (ts, level, host, component, fmt), done, done + take, n)
            done += take
        self._evict()
        return first

    def append_joined(
        self,
        joined: bytes,
        starts: Any,
        ts: Sequence[float],
        level: Sequence[int],
        host: Sequence[int],
        component: Sequence[int],
        fmt: Sequence[int],
    ) -> int:
        """:meth:`append_batch` for lines already joined by ``\\n`` (one copy of their bytes per block).

        Args:
            joined: the lines joined by ``\\n`` (no newline after the last one).
            starts: each line's offset in ``joined`` (a numpy int64 array).
            ts, level, host, component, fmt: the columns: lists, arrays or numpy arrays.
        """
        first = self._next_seq
        n = len(starts)
        done = 0
        text = memoryview(joined)
        while done < n:
            block = self._open_block()
            take = min(self.block_lines - len(block), n - done)
            stop = done + take
            begin = int(starts[done])
            end = int(starts[stop]) if stop < n else len(joined) + 1
            _extend(block.offsets, starts[done:stop] + (len(block.data) - begin))
            block.data += text[begin : end - 1]
            block.data += b"\n"
            self._fill(block, (ts, level, host, component, fmt), done, stop, n)
            done = stop
        self._evict()
        return first

    def _fill(self, block: Block, columns: tuple[Sequence[Any], ...], start: int, stop: int, n: int) -> None:
        """Append rows ``[start, stop)`` of the batch's ``columns`` (ts, level, host, component, fmt, each
        ``n`` long) to ``block``, whose text already holds them; count them and seal a full block."""
        targets: tuple[array[Any], ...] = (block.ts, block.level, block.host, block.component, block.fmt)
        whole = stop - start == n
        for target, values in zip(targets, columns, strict=True):
            _extend(target, values if whole else values[start:stop])
        self._next_seq += stop - start
        if len(block) >= self.block_lines:
            self._seal(block)

    def _open_block(self) -> Block:
        if not self.blocks or self.blocks[-1].sealed is not None:
            self.blocks.append(Block(first_seq=self._next_seq))
        return self.blocks[-1]

    def _evict(self) -> None:
        floor = self._next_seq - self.capacity
        if floor > self._start_seq:
            self._start_seq = floor
        blocks = self.blocks
        if blocks and blocks[0].first_seq + len(blocks[0]) <= self._start_seq:
            with self._cache_lock:
                while blocks and blocks[0].first_seq + len(blocks[0]) <= self._start_seq:
                    self._forget(blocks.popleft())

    def clear(self) -> None:
        """Drop every retained line (sequence numbers keep counting)."""
        with self._cache_lock:
            for block in self.blocks:
                self._forget(block)
            self.blocks.clear()
            self._start_seq = self._next_seq

    # -- reading ---------------------------------------------------------------------

    def locate(self, seq: int) -> tuple[Block, int]:
        """Return the block holding ``seq`` and the line's index in it.

        Raises:
            IndexError: if ``seq`` is not retained.
        """
        if not self._start_seq <= seq < self._next_seq:
            raise IndexError(f"line {seq} is not retained")
        first = self.blocks[0].first_seq
        bi = (seq - first) // self.block_lines
        block = self.blocks[bi]
        return block, seq - block.first_seq

    def __contains__(self, seq: object) -> bool:
        return isinstance(seq, int) and self._start_seq <= seq < self._next_seq

    def raw(self, seq: int) -> bytes:
        """The raw bytes of line ``seq``."""
        block, i = self.locate(seq)
        return block.line_bytes(i)

    def event(self, seq: int) -> LogEvent:
        """Materialise line ``seq`` as a ``LogEvent``."""
        block, i = self.locate(seq)
        return LogEvent(
            seq=seq,
            ts=block.ts[i],
            level=Level(block.level[i]),
            host=self.hosts.name(block.host[i]),
            component=self.components.name(block.component[i]),
            fmt=LineFormat(block.fmt[i]),
            text=decode_line(block.line_bytes(i)),
        )

    def iter_blocks(self) -> Iterator[tuple[Block, int]]:
        """Yield each retained block with the index of its first retained line.

        The index is non-zero only for the oldest block, when part of it was evicted.
        """
        start = self._start_seq
        for block in self.blocks:
            skip = start - block.first_seq
            yield block, skip if skip > 0 else 0


_NUMPY_TYPES = {"d": "float64", "B": "uint8", "H": "uint16", "I": "uint32"}


def _extend(column: array[Any], values: Sequence[Any]) -> None:
    """Append ``values`` to an array column; a list is converted first (``array(list)`` runs in C,
    ``extend(list)`` goes through the generic iterator and costs about twice as much); a numpy
    array's memory is copied as it is, in the column's type."""
    if isinstance(values, array):
        column.extend(values)
    elif hasattr(values, "dtype"):  # a numpy array
        typed: Any = values
        column.frombytes(memoryview(typed.astype(_NUMPY_TYPES[column.typecode], copy=False)).cast("B"))
    else:
        column.extend(array(column.typecode, values))

"""A bounded, columnar ring of retained log lines.

Why this shape (measured on the project's 2-core machines, 1M lines of ~170 bytes):

* A Python object per line costs 60-100 bytes and ~0.3-1 us to create; at a million lines
  that is the whole memory and time budget. The store therefore keeps each block's lines as
  one ``bytes`` buffer (the line bytes joined by ``\\n``) plus ``array`` columns: start
  offset, time, level, host, component, format. Per line that is the raw bytes plus 18 bytes.
* Filters scan a block's buffer with C-level ``find``/``count`` and re2, and turn match
  positions into line numbers; no per-line object is created to filter.
* ``LogEvent`` objects are built only for rows on screen, the detail view and exports.

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

from postaltop.core.events import Level, LineFormat, LogEvent, decode_line


class Interner:
    """Maps names (hosts, components) to small integer ids and back."""

    __slots__ = ("_ids", "_names")

    def __init__(self, names: Sequence[str] = ()) -> None:
        self._ids: dict[str, int] = {}
        self._names: list[str] = []
        for name in names:
            self.id(name)

    def id(self, name: str) -> int:
        """Return the id of ``name``, assigning the next one on first sight."""
        found = self._ids.get(name)
        if found is None:
            found = len(self._names)
            if found > 0xFFFF:
                raise OverflowError("more than 65,536 distinct names")
            self._ids[name] = found
            self._names.append(name)
        return found

    def get(self, name: str) -> int | None:
        """Return the id of ``name`` if it was seen, else None (never assigns)."""
        return self._ids.get(name)

    def name(self, ident: int) -> str:
        """Return the name of an id."""
        return self._names[ident]

    @property
    def names(self) -> list[str]:
        """All names, in id order."""
        return list(self._names)

    def __len__(self) -> int:
        return len(self._names)


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
        return len(self.buffer) + sum(c.itemsize * c.buffer_info()[1] for c in cols)


class LogStore:
    """The retained lines of every host and component, in arrival order.

    Args:
        capacity: how many lines are retained at most; the oldest are dropped first.
        block_lines: lines per block (the eviction and scanning unit).
    """

    def __init__(self, capacity: int = 1_000_000, block_lines: int = 4096) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if block_lines < 16:
            raise ValueError("block_lines must be at least 16")
        self.capacity = capacity
        self.block_lines = block_lines
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
        """Approximate memory held by retained blocks."""
        return sum(b.nbytes() for b in self.blocks)

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
            block.seal()
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
            base = len(block.data)
            pos = base
            offs = block.offsets
            for ln in chunk:
                offs.append(pos)
                pos += len(ln) + 1
            block.data += b"\n".join(chunk)
            block.data += b"\n"
            block.ts.extend(ts[done : done + take])
            block.level.extend(level[done : done + take])
            block.host.extend(host[done : done + take])
            block.component.extend(component[done : done + take])
            block.fmt.extend(fmt[done : done + take])
            done += take
            self._next_seq += take
            if len(block) >= self.block_lines:
                block.seal()
        self._evict()
        return first

    def _open_block(self) -> Block:
        if not self.blocks or self.blocks[-1].sealed is not None:
            self.blocks.append(Block(first_seq=self._next_seq))
        return self.blocks[-1]

    def _evict(self) -> None:
        floor = self._next_seq - self.capacity
        if floor > self._start_seq:
            self._start_seq = floor
        while self.blocks and self.blocks[0].first_seq + len(self.blocks[0]) <= self._start_seq:
            self.blocks.popleft()

    def clear(self) -> None:
        """Drop every retained line (sequence numbers keep counting)."""
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

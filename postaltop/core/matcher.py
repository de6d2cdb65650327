"""Compile a ``Query`` into block scanners over the columnar ``LogStore``.

No per-line Python object is created to filter (measured on the project's 2-core machines: a
per-line object costs 0.5-1 us, a whole pass over 1M lines with a C-level bytes method ~0.1 s):

* Every term yields a *mask* for a range of lines of one block: ``bytes`` holding 0 or 1 per line.
  Masks are combined with big-integer ``&``/``|`` and flipped with ``bytes.translate`` (all C speed),
  and matching lines are emitted with ``itertools.compress``.
* Column terms (level, host, component, time) never touch the text: ``level`` and the low/high bytes
  of the 16-bit ``host``/``component`` columns are mapped through a 256-byte ``translate`` table;
  ``since``/``until`` compare the block's min/max first and look at single lines only in the
  boundary blocks.
* Text terms search the block buffer with ``bytes.find`` (case-sensitive literals) or RE2; a hit
  position becomes a line number by bisecting the block's line offsets (the bytes between hits
  are never read twice), and the search resumes at the next line start, so each matching line
  costs one hit.
* Case-insensitive words: where matches are sparse, RE2 (Latin-1, ASCII case classes, ~2 GB/s)
  finds them directly (~2 us per matching line); where the previous block was dense, the block's
  lower-cased copy is searched with ``bytes.find`` (~0.7 us per matching line). The store keeps
  those copies for sealed blocks within a memory budget (``LogStore.lowered``), so a re-apply
  does not pay the lower-casing pass (~0.2 s per million lines) again for the blocks it holds.
* Terms are evaluated cheapest first. Once the surviving candidates of a block are few, the
  remaining terms test those lines one by one instead of scanning the whole block.

Regexes: user-typed patterns are compiled by RE2 only (linear time, no backtracking), with
``never_nl`` (a match never spans two lines) and ``(?m)`` (``^``/``$`` are line boundaries), so a
pattern such as ``(a+)+$`` cannot hang the app whatever the input. The stdlib ``re`` engine is
never run on user input: measured on 200k lines for ``5\\d\\d `` (6% of lines), a stdlib search loop
and an RE2 loop cost the same (50 ms each), so bounding stdlib backtracking would buy nothing.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate, compress, repeat
from operator import add
from typing import Literal, Protocol

import re2

from postaltop.core.logstore import Block, LogStore
from postaltop.core.query import (
    AnyOf,
    LevelIn,
    MessageRef,
    NameIs,
    Phrase,
    Query,
    Recipient,
    Regex,
    Sender,
    Status,
    Tag,
    Term,
    TimeRange,
    Word,
    re2_options,
)

_FLIP = bytes([1, 0]) + bytes(254)
_BEFORE_TAG = frozenset(b" \t\n")
_AFTER_TAG = frozenset(b" \t\n\r\x1b")
_NO_BOUND, _BOUND_BEFORE, _BOUND_BOTH = 0, 1, 2
_DENSE = 0.12
"""Above this share of matching lines, lower-casing a block (and not keeping the copy) beats one
RE2 call per match (measured: RE2 ~2-3.5 us per matching line; lower-casing ~0.23 us per line,
then ``bytes.find`` ~0.1 us per line plus ~0.7 us per matching line)."""
_DENSE_LOWERED = 0.02
"""Above this share, searching a block's lower-cased copy kept by the store beats one RE2 call per
match; blocks are copied (once, within the store's budget) from that share on."""
_NEAR = 16
"""``_mark_exact`` looks for a hit's line among the next ``_NEAR`` lines first (4 probes of the
offsets instead of ~12 over a whole block; each probe of an ``array`` allocates an int), then
beyond: where it is used, a match is a few lines after the previous one."""
_WINDOW = 16384
"""Longest haystack per ``bytes.find`` call in ``_mark_exact``: over a longer one CPython prepares
the needle (two-way search) on every call, which costs ~0.3 us per hit when hits are frequent."""

# Log messages that record each delivery outcome (Postal 3.x worker / SMTP sender; facts §4).
STATUS_LITERALS: dict[str, tuple[str, ...]] = {
    "held": (", holding",),
    "sent": ("Accepted by ",),
    "softfail": (
        "message requeued for trying later",
        "Net::SMTPServerBusy",
        "Net::SMTPAuthenticationError",
        "Net::SMTPSyntaxError",
        "Net::SMTPUnknownError",
        "Net::ReadTimeout",
        "Cannot connect to ",
    ),
    "hardfail": ("Net::SMTPFatalError", "hard failing"),
    "bounced": ("Added bounce on server",),
}
_MSGID_TAGS = "original_queued_message|queued_message|log_id|trace_id|id"


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
    return (int.from_bytes(a, "little") & int.from_bytes(b, "little")).to_bytes(len(a), "little")


def _or(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "little") | int.from_bytes(b, "little")).to_bytes(len(a), "little")


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


# -- text scanners -------------------------------------------------------------------


def _bounded(text: bytes | bytearray, pos: int, size: int, mode: int) -> bool:
    if pos > 0 and text[pos - 1] not in _BEFORE_TAG:
        return False
    return mode != _BOUND_BOTH or text[pos + size] in _AFTER_TAG


def _mark_literal(
    text: bytes | bytearray,
    lit: bytes,
    delta: int,
    offs: array[int],
    start: int,
    stop: int,
    mask: bytearray,
    bound: int,
) -> None:
    """Set ``mask[i - start]`` for lines ``i`` in ``[start, stop)`` holding ``lit``.

    ``text`` starts at buffer position ``delta`` (a lower-cased slice) or is the buffer (delta 0),
    and ends at the end of line ``stop - 1``. A hit's line is found by bisecting the offsets
    (never by re-reading the bytes between hits), then the search resumes at the next line.
    """
    find = text.find
    end = len(text) if delta else (offs[stop] if stop < len(offs) else len(text))
    line = start
    line_next = offs[line + 1] - delta if line + 1 < stop else end
    pos = find(lit, offs[start] - delta, end)
    while pos >= 0:
        if pos >= line_next:
            line = bisect_right(offs, pos + delta, line + 1, stop) - 1
            line_next = offs[line + 1] - delta if line + 1 < stop else end
        if bound and not _bounded(text, pos, len(lit), bound):
            pos = find(lit, pos + 1, end)
            continue
        mask[line - start] = 1
        if line_next >= end:
            break
        line += 1
        pos = find(lit, line_next, end)
        line_next = offs[line + 1] - delta if line + 1 < stop else end


def _mark_exact(text: bytes, lit: bytes, ctx: _Ctx, mask: bytearray) -> None:
    """Set ``mask[i - start]`` for the tested lines of ``ctx`` whose bytes in ``text`` hold ``lit``.

    ``text`` is the block's buffer or a same-length transform of it (its lower-cased copy). Like
    ``_mark_literal`` (one ``find`` per matching line, resuming at the next line) but searching
    windows of ``_WINDOW`` bytes; a window overlaps the next by ``len(lit) - 1`` bytes so no hit
    on a window edge is missed.
    """
    offs, start, stop, hi = ctx.offs, ctx.start, ctx.stop, ctx.hi
    find = text.find
    back = len(lit) - 1
    window = max(_WINDOW, 4 * len(lit))
    pos = ctx.lo
    line = start
    while pos < hi:
        end = pos + window
        if end > hi:
            end = hi
        hit = find(lit, pos, end)
        if hit < 0:
            if end >= hi:
                break
            pos = end - back
            continue
        near = line + _NEAR
        if near < stop:
            found = bisect_right(offs, hit, line, near)
            line = (found if found < near else bisect_right(offs, hit, near, stop)) - 1
        else:
            line = bisect_right(offs, hit, line, stop) - 1
        mask[line - start] = 1
        line += 1
        if line >= stop:
            break
        pos = offs[line]


def _mark_regex(rx: _Re2, ctx: _Ctx, start: int, stop: int, mask: bytearray) -> None:
    buf, offs = ctx.buf, ctx.offs
    raw, anchor = rx.raw, rx.anchor
    hi = ctx.line_end(stop - 1)
    pos = offs[start]
    line = start
    while True:
        found = raw(anchor, buf, pos, hi)[0][0]
        if found < 0 or found >= hi:
            break
        line = bisect_right(offs, found, line, stop) - 1
        mask[line - start] = 1
        line += 1
        if line >= stop:
            break
        pos = offs[line]


def _line_spans(ctx: _Ctx, rows: list[int]) -> Iterator[tuple[int, int, int]]:
    """(row, start, end-before-newline) of each row."""
    offs, last, size = ctx.offs, len(ctx.offs) - 1, len(ctx.buf)
    for i in rows:
        yield i, offs[i], (offs[i + 1] if i < last else size) - 1


def _ascii_ci(lit: bytes) -> bytes:
    """RE2 pattern (Latin-1 mode) for exactly the ASCII case variants of ``lit``."""
    out = []
    for c in lit:
        ch = bytes((c,))
        out.append(b"[" + ch.lower() + ch.upper() + b"]" if ch.isalpha() else re2.escape(ch))
    return b"".join(out)


class _Literal:
    """Lines holding any of ``lits`` (ASCII case-folded if ``fold``), optionally confirmed by a regex."""

    cand_ratio = 4

    def __init__(
        self, lits: Sequence[bytes], *, fold: bool, bound: int = _NO_BOUND, confirm: str = ""
    ) -> None:
        if fold and bound:
            raise ValueError("a case-folded literal cannot be bounded")
        self.lits = tuple(lit.lower() if fold else lit for lit in lits)
        self.fold = fold
        self.bound = bound
        self.never = all(b"\n" in lit for lit in self.lits)  # lines hold no newline
        pattern = b"|".join(_ascii_ci(lit) if fold else re2.escape(lit) for lit in self.lits)
        self.multi = _Re2(pattern, latin1=True) if len(self.lits) > 1 else None
        self.folded = _Re2(pattern, latin1=True) if fold and self.multi is None else None
        self.density = 0.0
        """Share of lines that matched in the last block: picks how the next block is searched."""
        self.confirm = _Re2("(?m)" + confirm) if confirm else None
        self.rank = (30 if fold else 20) + (5 if confirm else 0) - min(len(self.lits[0]), 9)

    def mask(self, ctx: _Ctx) -> bytes:
        mask = bytearray(ctx.stop - ctx.start)
        if self.never:
            return bytes(mask)
        if self.multi is not None:
            _mark_regex(self.multi, ctx, ctx.start, ctx.stop, mask)
        elif self.folded is not None:
            self._mark_folded(self.folded, ctx, mask)
        else:
            _mark_literal(ctx.buf, self.lits[0], 0, ctx.offs, ctx.start, ctx.stop, mask, self.bound)
        if self.confirm is not None:
            rows = list(compress(range(ctx.start, ctx.stop), mask))
            keep = set(self._confirmed(ctx, rows))
            for i in rows:
                if i not in keep:
                    mask[i - ctx.start] = 0
        return bytes(mask)

    def _mark_folded(self, folded: _Re2, ctx: _Ctx, mask: bytearray) -> None:
        """Case-insensitive search: RE2 per matching line when matches are sparse, else lower-case.

        RE2 skips text at ~2 GB/s but costs ~2 us per matching line; lower-casing the block costs
        a pass over it (~0.2 s per million lines) and then ``bytes.find`` costs ~0.7 us per match.
        The last block's match density predicts which is cheaper for the next one; a block whose
        lower-cased copy the store already holds is searched that way from a lower density.
        """
        block = ctx.block
        if block.lowered is not None or (block.sealed is not None and ctx.store.may_lower(block)):
            dense = _DENSE_LOWERED  # the copy is kept: pay the pass once, search it from now on
        else:
            dense = _DENSE
        if self.density < dense:
            _mark_regex(folded, ctx, ctx.start, ctx.stop, mask)
        elif folded.first(ctx.buf, ctx.lo, ctx.hi) >= 0:
            _mark_exact(ctx.lowered(), self.lits[0], ctx, mask)
        self.density = mask.count(1) / len(mask)

    def _confirmed(self, ctx: _Ctx, rows: list[int]) -> list[int]:
        if self.confirm is None:
            return rows
        raw, anchor, buf = self.confirm.raw, self.confirm.anchor, ctx.buf
        return [i for i, s, e in _line_spans(ctx, rows) if raw(anchor, buf, s, e)[0][0] >= 0]

    def select(self, ctx: _Ctx, rows: list[int]) -> list[int]:
        if self.never:
            return []
        buf = ctx.buf
        if self.multi is not None:
            raw, anchor = self.multi.raw, self.multi.anchor
            found = [i for i, s, e in _line_spans(ctx, rows) if raw(anchor, buf, s, e)[0][0] >= 0]
        elif self.bound:
            found = [i for i, s, e in _line_spans(ctx, rows) if self._bounded_in(buf[s : e + 1])]
        elif self.fold:
            lit = self.lits[0]
            low = ctx.block.lowered
            if low is not None and ctx.block.sealed is not None:  # the store's lower-cased copy
                find, offs, last = low.find, ctx.offs, len(ctx.offs) - 1
                found = [i for i in rows if find(lit, offs[i], offs[i + 1] if i < last else len(low)) >= 0]
            else:
                found = [i for i, s, e in _line_spans(ctx, rows) if lit in buf[s:e].lower()]
        else:
            lit = self.lits[0]
            found = [i for i, s, e in _line_spans(ctx, rows) if buf.find(lit, s, e) >= 0]
        return self._confirmed(ctx, found)

    def _bounded_in(self, line: bytes | bytearray) -> bool:
        """Does ``line`` (with its newline) hold the literal as a whole tag?"""
        lit = self.lits[0]
        pos = line.find(lit)
        while pos >= 0 and not _bounded(line, pos, len(lit), self.bound):
            pos = line.find(lit, pos + 1)
        return pos >= 0


class _Regex:
    """Lines matching an RE2 pattern (never across a newline; ``^``/``$`` at line boundaries)."""

    rank = 50
    cand_ratio = 32

    def __init__(self, pattern: str, ignore_case: bool) -> None:
        self.rx = _Re2("(?m)" + pattern, ignore_case=ignore_case)

    def mask(self, ctx: _Ctx) -> bytes:
        mask = bytearray(ctx.stop - ctx.start)
        _mark_regex(self.rx, ctx, ctx.start, ctx.stop, mask)
        return bytes(mask)

    def select(self, ctx: _Ctx, rows: list[int]) -> list[int]:
        raw, anchor, buf = self.rx.raw, self.rx.anchor, ctx.buf
        return [i for i, s, e in _line_spans(ctx, rows) if raw(anchor, buf, s, e)[0][0] >= 0]


# -- column scanners -----------------------------------------------------------------


def _table(values: set[int] | frozenset[int]) -> bytes:
    return bytes(1 if v in values else 0 for v in range(256))


class _Level:
    rank = 0
    cand_ratio = 0

    def __init__(self, levels: frozenset[int]) -> None:
        self.levels = levels
        self.table = _table(levels)

    def mask(self, ctx: _Ctx) -> bytes:
        return ctx.block.level[ctx.start : ctx.stop].tobytes().translate(self.table)

    def select(self, ctx: _Ctx, rows: list[int]) -> list[int]:
        column, levels = ctx.block.level, self.levels
        return [i for i in rows if column[i] in levels]


class _Name:
    """Host or component ids whose interned name matches; re-resolved when new names appear."""

    rank = 1
    cand_ratio = 0

    def __init__(self, field: Literal["host", "component"], names: Sequence[str]) -> None:
        self.field = field
        self.exact = frozenset(n for n in names if not n.endswith("*"))
        self.prefixes = tuple(n[:-1] for n in names if n.endswith("*"))
        self._key: tuple[int, int] = (-1, -1)
        self._ids: frozenset[int] = frozenset()
        self._groups: list[tuple[int, bytes, bytes]] = []

    def ids(self, store: LogStore) -> frozenset[int]:
        """The ids of matching names (cached until the interner grows)."""
        interner = store.hosts if self.field == "host" else store.components
        key = (id(interner), len(interner))
        if key != self._key:
            names = interner.names
            key = (id(interner), len(names))
            ids = {i for i, name in enumerate(names) if self._wanted(name.lower())}
            by_high: dict[int, set[int]] = {}
            for ident in ids:
                by_high.setdefault(ident >> 8, set()).add(ident & 0xFF)
            self._groups = [(h, _table({h}), _table(lows)) for h, lows in sorted(by_high.items())]
            self._ids = frozenset(ids)
            self._key = key
        return self._ids

    def _wanted(self, name: str) -> bool:
        return name in self.exact or bool(name and self.prefixes and name.startswith(self.prefixes))

    def mask(self, ctx: _Ctx) -> bytes:
        n = ctx.stop - ctx.start
        if not self.ids(ctx.store):
            return bytes(n)
        raw = getattr(ctx.block, self.field)[ctx.start : ctx.stop].tobytes()
        low, high = (raw[0::2], raw[1::2]) if sys.byteorder == "little" else (raw[1::2], raw[0::2])
        all_low = high.count(0) == n
        out: bytes | None = None
        for h, high_table, low_table in self._groups:
            if all_low and h:
                continue
            part = low.translate(low_table)
            if not all_low:
                part = _and(part, high.translate(high_table))
            out = part if out is None else _or(out, part)
        return out if out is not None else bytes(n)

    def select(self, ctx: _Ctx, rows: list[int]) -> list[int]:
        column: array[int] = getattr(ctx.block, self.field)
        ids = self.ids(ctx.store)
        return [i for i in rows if column[i] in ids]


class _Time:
    rank = 2
    cand_ratio = 0

    def __init__(self, since: float | None, until: float | None) -> None:
        self.since = float("-inf") if since is None else since
        self.until = float("inf") if until is None else until

    def _bounds(self, ctx: _Ctx, ts: array[float]) -> tuple[float, float]:
        block = ctx.block
        if block.sealed is None:
            return min(ts), max(ts)
        found = ctx.stats.get(block.first_seq)
        if found is None:
            # Whole-block bounds are safe for any sub-range; cached since sealed blocks never change.
            found = ctx.stats[block.first_seq] = (min(block.ts), max(block.ts))
        return found

    def mask(self, ctx: _Ctx) -> bytes:
        ts = ctx.block.ts[ctx.start : ctx.stop]
        n = len(ts)
        low, high = self._bounds(ctx, ts)
        if self.since <= low and high <= self.until:
            return b"\x01" * n
        if high < self.since or low > self.until:
            return bytes(n)
        after = bytes(map(self.since.__le__, ts))
        if high <= self.until:
            return after
        return _and(after, bytes(map(self.until.__ge__, ts)))

    def select(self, ctx: _Ctx, rows: list[int]) -> list[int]:
        ts, since, until = ctx.block.ts, self.since, self.until
        return [i for i in rows if since <= ts[i] <= until]


# -- combinators ---------------------------------------------------------------------


class _Not:
    def __init__(self, inner: _Scanner) -> None:
        self.inner = inner
        self.rank = inner.rank + 3
        self.cand_ratio = inner.cand_ratio

    def mask(self, ctx: _Ctx) -> bytes:
        return self.inner.mask(ctx).translate(_FLIP)

    def select(self, ctx: _Ctx, rows: list[int]) -> list[int]:
        drop = set(self.inner.select(ctx, rows))
        return [i for i in rows if i not in drop]


class _AnyOf:
    def __init__(self, inner: list[_Scanner]) -> None:
        self.inner = sorted(inner, key=lambda s: s.rank)
        self.rank = max(s.rank for s in inner)
        self.cand_ratio = max(s.cand_ratio for s in inner)

    def mask(self, ctx: _Ctx) -> bytes:
        out: bytes | None = None
        for scanner in self.inner:
            part = scanner.mask(ctx)
            out = part if out is None else _or(out, part)
        assert out is not None
        return out

    def select(self, ctx: _Ctx, rows: list[int]) -> list[int]:
        hit: set[int] = set()
        for scanner in self.inner:
            hit.update(scanner.select(ctx, [i for i in rows if i not in hit]))
        return [i for i in rows if i in hit]


# -- compiling terms -----------------------------------------------------------------


def _address_pattern(address: str) -> str:
    if address.startswith("@"):
        return r"[^\s'<>@]+" + str(re2.escape(address))
    return str(re2.escape(address))


def _compile_term(term: Term) -> _Scanner:
    scanner = _compile_positive(term)
    return _Not(scanner) if term.negated else scanner


def _compile_positive(term: Term) -> _Scanner:
    if isinstance(term, Word):
        lit = term.text.encode()
        return _Literal([lit], fold=lit.lower() != lit.upper())
    if isinstance(term, Phrase):
        return _Literal([term.text.encode()], fold=False)
    if isinstance(term, Regex):
        return _Regex(term.pattern, term.ignore_case)
    if isinstance(term, LevelIn):
        return _Level(frozenset(int(lv) for lv in term.levels))
    if isinstance(term, NameIs):
        return _Name(term.field, term.names)
    if isinstance(term, TimeRange):
        return _Time(term.since, term.until)
    if isinstance(term, Tag):
        if term.value is None:
            return _Literal([f"{term.key}=".encode()], fold=False, bound=_BOUND_BEFORE)
        bound = _BOUND_BEFORE if term.prefix else _BOUND_BOTH
        return _Literal([f"{term.key}={term.value}".encode()], fold=False, bound=bound)
    if isinstance(term, Recipient):
        e = _address_pattern(term.address)
        confirm = (
            rf"(?i)(?:Sending message \S+ to {e}(?:\s|$)|Accepted by .* for {e}(?:\s|$)|"
            rf"Added external address '{e}'|RCPT TO:\s*<{e}>|(?:^|\s)to={e}(?:\s|$))"
        )
        return _Literal([term.address.encode()], fold=True, confirm=confirm)
    if isinstance(term, Sender):
        e = _address_pattern(term.address)
        confirm = rf"(?i)(?:MAIL FROM:\s*<{e}>|(?:^|\s)from={e}(?:\s|$))"
        return _Literal([term.address.encode()], fold=True, confirm=confirm)
    if isinstance(term, MessageRef):
        e = re2.escape(term.value)
        alts = [f"(?:{_MSGID_TAGS})={e}"]
        if "::" in term.value:
            alts.append(e)
        elif term.value.isdigit():
            alts.append(rf"\d+::{e}")
        if term.value.isalnum():
            alts.append(f"Postal/{e}")
        confirm = rf"(?:^|[\s\[])(?:{'|'.join(alts)})(?:[\s\]\x1b]|$)"
        return _Literal([term.value.encode()], fold=False, confirm=confirm)
    if isinstance(term, Status):
        return _Literal([s.encode() for s in STATUS_LITERALS[term.status]], fold=False)
    if isinstance(term, AnyOf):
        return _AnyOf([_compile_term(t) for t in term.terms])
    raise TypeError(f"unsupported term {term!r}")


# -- the matcher ---------------------------------------------------------------------


class Matcher:
    """A compiled query that scans ranges of a ``LogStore`` and appends matching sequence numbers.

    Scanning reads a snapshot of the block list, so it tolerates lines being appended (or old
    blocks evicted) by another thread while it runs; lines past ``end_seq`` are left for later.
    """

    def __init__(self, query: Query | None) -> None:
        self.query = query
        terms = query.terms if query is not None else ()
        self._scanners: list[_Scanner] = sorted((_compile_term(t) for t in terms), key=lambda s: s.rank)

    @property
    def matches_all(self) -> bool:
        """True when every line matches (the empty query)."""
        return not self._scanners

    def scan(
        self, store: LogStore, start_seq: int, end_seq: int, out: array[int], stats: BlockStats | None = None
    ) -> int:
        """Append to ``out`` the retained seqs in ``[start_seq, end_seq)`` that match, in order.

        Args:
            store: the store to read.
            start_seq: first sequence number to test (clamped to the retained range).
            end_seq: one past the last sequence number to test.
            out: where matching sequence numbers are appended.
            stats: a per-block cache of time bounds to reuse across scans (owned by the caller).

        Returns:
            How many seqs were appended.
        """
        stats = {} if stats is None else stats
        blocks = list(store.blocks)
        start_seq = max(start_seq, store.start_seq)
        if not blocks or start_seq >= end_seq:
            return 0
        before = len(out)
        index = max(0, (start_seq - blocks[0].first_seq) // store.block_lines)
        for block in blocks[index:]:
            first = block.first_seq
            if first >= end_seq:
                break
            start = max(start_seq - first, 0)
            stop = min(end_seq - first, len(block))
            if start < stop:
                self._scan_block(_Ctx(store, block, start, stop, stats), out)
        return len(out) - before

    def matches(self, store: LogStore, seq: int) -> bool:
        """Test one retained line (raises ``IndexError`` if ``seq`` is not retained)."""
        block, i = store.locate(seq)
        ctx = _Ctx(store, block, i, i + 1, {})
        rows = [i]
        for scanner in self._scanners:
            rows = scanner.select(ctx, rows)
        return bool(rows)

    def _scan_block(self, ctx: _Ctx, out: array[int]) -> None:
        start, stop = ctx.start, ctx.stop
        n = stop - start
        base = ctx.block.first_seq
        mask: bytes | None = None
        scanners = self._scanners
        for k, scanner in enumerate(scanners):
            if mask is not None:
                hits = mask.count(1)
                if hits == 0:
                    return
                if scanner.cand_ratio and hits * scanner.cand_ratio < n:
                    rows = list(compress(range(start, stop), mask))
                    for rest in scanners[k:]:
                        rows = rest.select(ctx, rows)
                        if not rows:
                            return
                    out.extend(map(add, rows, repeat(base)))
                    return
            part = scanner.mask(ctx)
            mask = part if mask is None else _and(mask, part)
        _emit(out, mask, base + start, n)


def _emit(out: array[int], mask: bytes | None, first: int, n: int) -> None:
    """Append ``first + i`` for each set ``mask[i]`` (every i when ``mask`` is None).

    Below half the lines, the mask is cut at each set byte (one C call) and the running sum of the
    pieces' lengths gives the hits' positions, so only hits cost anything (~25 ns each; measured
    on 4,096-line masks: 2x cheaper than ``compress`` at 16 % and than a ``find`` loop from 2 %);
    above, ``compress`` over the line range wins.
    """
    hits = n if mask is None else mask.count(1)
    if hits == n:
        out.extend(range(first, first + n))
    elif hits * 2 < n:
        assert mask is not None
        if hits:
            pieces = mask.split(b"\x01")
            pieces.pop()
            ends = accumulate(map(add, map(len, pieces), repeat(1)), initial=first - 1)
            next(ends)
            out.fromlist(list(ends))
    else:
        assert mask is not None
        out.extend(compress(range(first, first + n), mask))


def compile_query(query: Query | None) -> Matcher:
    """Compile ``query`` (None = match everything) into a ``Matcher``."""
    return Matcher(query)

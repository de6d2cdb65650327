"""Text scanners of :mod:`postaltop.core.matcher`: literals (case-sensitive, ASCII case-folded,
bounded tags, several at once) and RE2 regexes over a block's buffer."""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from itertools import compress

import re2

from postaltop.core import bytescan
from postaltop.core.classpattern import fixed_pattern, folded_literal
from postaltop.core.classscan import ClassScan
from postaltop.core.matcher_base import _Ctx, _Re2

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
_VECTOR = bytescan.AVAILABLE
"""Search dense case-insensitive words with :mod:`postaltop.core.bytescan` (else lower-cased copies)."""
_MANY_HITS = 64
"""Regex hits in one block from which numpy is worth importing to map them to lines."""
_VECTOR_ROWS = 256
"""From this many candidate rows, a case-insensitive word tests them with one vectorised pass over
their span (~0.35 ms per 4,096-line block) instead of lower-casing each row (~1-1.5 us)."""
_DENSE_VECTOR = 0.02
"""Above this share of matching lines the vectorised search (~0.3 ms per 4,096-line block) beats one
RE2 call per match (~2 us each)."""


def _vectorise(density: float) -> bool:
    """Search the next block with numpy, given the last block's share of matching lines (negative:
    none searched yet)? After a dense block, yes (numpy is imported then); the first block too once
    numpy is loaded (~0.3 ms per block at worst, where RE2 over a dense block costs milliseconds);
    after a sparse block, no: RE2 is as fast there."""
    return density >= _DENSE_VECTOR or (density < 0 and bytescan.loaded())


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
    """Set ``mask[i - start]`` for lines ``i`` in ``[start, stop)`` where ``rx`` matches.

    One RE2 call per matching line (the search resumes at the next line). With numpy, the hit
    positions are collected (the next line found with ``find``, ~0.1 us) and turned into line
    numbers at once; else each is bisected in the offsets (~0.4 us: each probe allocates an int).
    """
    buf, offs = ctx.buf, ctx.offs
    raw, anchor = rx.raw, rx.anchor
    hi = ctx.line_end(stop - 1)
    pos = offs[start]
    if _VECTOR:
        hits: list[int] = []
        add, find = hits.append, buf.find
        while pos < hi:
            found = raw(anchor, buf, pos, hi)[0][0]
            if found < 0 or found >= hi:
                break
            add(found)
            pos = find(b"\n", found, hi) + 1
            if pos <= 0:
                break
        if len(hits) >= _MANY_HITS or (hits and bytescan.loaded()):
            bytescan.mark(mask, bytescan.lines_at(offs, start, stop, hits), start)
        else:
            line = start
            for hit in hits:
                line = bisect_right(offs, hit, line, stop) - 1
                mask[line - start] = 1
        return
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
        self.density = -1.0
        """Share of lines that matched in the last block: picks how the next block is searched
        (negative before the first block: vectorised once numpy is loaded, else RE2)."""
        self.confirm = _Re2("(?m)" + confirm) if confirm else None
        self.rank = (30 if fold else 20) + (5 if confirm else 0) - min(len(self.lits[0]), 9)
        self.scan = ClassScan(folded_literal(self.lits[0])) if self.folded is not None and _VECTOR else None
        """The vectorised search of a case-insensitive word (:mod:`postaltop.core.classscan`)."""
        self.cand_ratio = 32 if fold and self.multi is None and not confirm and _VECTOR else 4
        """A vectorised word costs about the same over the block as over its candidates' span: test
        candidates one by one only when they are few (a list of rows costs ~0.1 us each)."""

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

        With numpy (:mod:`postaltop.core.classscan`) a dense block is compared as a whole, no copy
        kept. Without it: RE2 skips text at ~2 GB/s but costs ~2 us per matching line; lower-casing
        the block costs
        a pass over it (~0.2 s per million lines) and then ``bytes.find`` costs ~0.7 us per match.
        The last block's match density predicts which is cheaper for the next one; a block whose
        lower-cased copy the store already holds is searched that way from a lower density.
        """
        if self.scan is not None:
            if not _vectorise(self.density):
                _mark_regex(folded, ctx, ctx.start, ctx.stop, mask)
            else:
                bytescan.mark(mask, self.scan.lines(ctx.buf, ctx.offs, ctx.start, ctx.stop), ctx.start)
            self.density = mask.count(1) / len(mask)
            return
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
            if self.scan is not None and len(rows) >= _VECTOR_ROWS:  # one pass over the rows' span
                hit = set(self.scan.lines(buf, ctx.offs, rows[0], rows[-1] + 1).tolist())
                found = [i for i in rows if i in hit]
            elif low is not None and ctx.block.sealed is not None:  # the store's lower-cased copy
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
    """Lines matching an RE2 pattern (never across a newline; ``^``/``$`` at line boundaries).

    A pattern that is a fixed-width run of one-byte classes (``5\\d\\d ``) is searched a block at a
    time with numpy (:mod:`postaltop.core.classscan`: same lines as RE2, ~one comparison per byte
    instead of one RE2 call per matching line); any other pattern, or without numpy, with RE2.
    """

    rank = 50
    cand_ratio = 32

    def __init__(self, pattern: str, ignore_case: bool) -> None:
        self.rx = _Re2("(?m)" + pattern, ignore_case=ignore_case)
        fixed = fixed_pattern(pattern, ignore_case) if _VECTOR else None
        self.fixed = ClassScan(fixed) if fixed is not None else None
        self.density = -1.0
        """As :attr:`_Literal.density`: RE2 while numpy is not loaded and matches are sparse."""

    def mask(self, ctx: _Ctx) -> bytes:
        mask = bytearray(ctx.stop - ctx.start)
        if self.fixed is not None and _vectorise(self.density):
            bytescan.mark(mask, self.fixed.lines(ctx.buf, ctx.offs, ctx.start, ctx.stop), ctx.start)
        else:
            _mark_regex(self.rx, ctx, ctx.start, ctx.stop, mask)
        self.density = mask.count(1) / len(mask)
        return bytes(mask)

    def select(self, ctx: _Ctx, rows: list[int]) -> list[int]:
        if self.fixed is not None and len(rows) >= _VECTOR_ROWS:  # one pass over the rows' span
            hit = set(self.fixed.lines(ctx.buf, ctx.offs, rows[0], rows[-1] + 1).tolist())
            return [i for i in rows if i in hit]
        raw, anchor, buf = self.rx.raw, self.rx.anchor, ctx.buf
        return [i for i, s, e in _line_spans(ctx, rows) if raw(anchor, buf, s, e)[0][0] >= 0]

"""Column scanners of :mod:`postaltop.core.matcher` (level, host/component names, time) and the
combinators (negation, any-of); none of them reads the text."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from typing import Literal

from postaltop.core.logstore import LogStore
from postaltop.core.matcher_base import _FLIP, _and, _Ctx, _or, _Scanner


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

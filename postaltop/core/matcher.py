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

from array import array
from itertools import accumulate, compress, repeat
from operator import add

import re2

from postaltop.core import bytescan
from postaltop.core.logstore import LogStore
from postaltop.core.matcher_base import BlockStats, _and, _Ctx, _Scanner
from postaltop.core.matcher_columns import _AnyOf, _Level, _Name, _Not, _Time
from postaltop.core.matcher_text import _BOUND_BEFORE, _BOUND_BOTH, _Literal, _Regex
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
)

__all__ = ["STATUS_LITERALS", "BlockStats", "Matcher", "compile_query"]


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
    above, ``compress`` over the line range wins. With numpy, the set bytes are found in one call
    (~10 us per 4,096-line block whatever the share).
    """
    hits = n if mask is None else mask.count(1)
    if mask is not None and hits and hits != n and bytescan.loaded() and out.typecode == "q":
        bytescan.emit(out, mask, first)
    elif hits == n:
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

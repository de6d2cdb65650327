"""The per-line scan at ingest: raw line bytes → the log store's columns.

This is the hottest loop of postaltop (every line of every host passes through it), so it is
written for CPython speed rather than elegance. A batch of :data:`~vscan.MIN_LINES` lines or more
is recognised at once with numpy (:mod:`~postaltop.core.parsing.vscan`); a smaller one this way:

* a bare v3 line is recognised by its time, one dict lookup keyed on the 25-byte stamp
  (:class:`~postaltop.core.parsing.v3.TimeCache`), and its level and whether it may carry a fact,
  one lookup keyed on the severity field and the first 11 message bytes; no regex, no decode.

Either way everything else (transport prefixes, ANSI-highlighted lines, v2, continuation records,
stderr text) takes :meth:`Scanner._slow`, which may use regexes. Lines without a time of their own
take the stream's last time, else ``received_at``.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from itertools import compress, repeat
from operator import itemgetter
from typing import Any

from postaltop.core import bytescan
from postaltop.core.events import Level, LineFormat
from postaltop.core.parsing import vscan
from postaltop.core.parsing.prefixes import strip_prefixes
from postaltop.core.parsing.scan_result import ScanResult, StreamState, positions
from postaltop.core.parsing.v2 import match_v2
from postaltop.core.parsing.v3 import (
    KNOWN_TAG_KEYS,
    MESSAGE_START,
    SEVERITY_FIELD,
    SGR_BYTES,
    TimeCache,
    looks_v3,
    severity_and_message_start,
)

_V3 = int(LineFormat.V3)
_V2 = int(LineFormat.V2)
_RAW = int(LineFormat.RAW)
_CONT = int(LineFormat.CONTINUATION)
_UNKNOWN = int(Level.UNKNOWN)
_MISSING = -1e300
"""Stands for "not in the cache" in the time column (compared with ``min``, at C speed)."""
_MAX_HEADS = 65536
_VECTOR = bytescan.AVAILABLE
_V3_ROW = array("B", (_V3,))
_KNOWN_KEYS_B = frozenset(k.encode() for k in KNOWN_TAG_KEYS)
_STAMP = itemgetter(slice(0, 25))
"""A line's first 25 bytes (the v3 time stamp); ``map`` applies it in C, unlike a comprehension."""
_HEAD = itemgetter(slice(26, 44))
"""Bytes 26-43: the severity field and the first 11 message bytes."""

COMPONENT_TAGS: dict[bytes, str] = {
    b"smtp-server": "smtp",
    b"worker": "worker",
    b"http-sender": "worker",
    b"health-server": "health-server",
    b"web-server": "web",
    b"web": "web",
}
"""Values of the ``component=`` tag mapped to postaltop's component names."""


class Scanner:
    """Scans batches of raw lines; holds the caches shared by all streams.

    Args:
        intern: maps a component name to the store's component id.
        may_carry_fact: given the first 11 bytes of a message, whether the line may carry a
            fact (asked once per distinct head; the answer is cached).
        fact_heads: the same answer as tables, ``(keys, rules)`` (see :class:`vscan.FactHeads`): with
            them, batches of :data:`vscan.MIN_LINES` lines or more are recognised at once.
    """

    def __init__(
        self,
        intern: Callable[[str], int],
        may_carry_fact: Callable[[bytes], bool],
        fact_heads: tuple[frozenset[bytes], vscan.HeadRules] | None = None,
    ) -> None:
        self.times = TimeCache()
        self._fact_tables = fact_heads
        self._vector: vscan.FactHeads | None = None
        self._intern = intern
        self._wants = may_carry_fact
        self._tag_ids: dict[bytes, int] = {}
        # bytes 26-43 of a v3 line (severity field + first 11 message bytes) -> level, and the
        # set of those heads that may carry a fact: one lookup answers both questions
        self._heads: dict[bytes, int] = {}
        self._fact_heads: set[bytes] = set()

    def scan(
        self,
        lines: Sequence[bytes],
        state: StreamState,
        *,
        component_id: int | None,
        received_at: float,
        joined: bytes | None = None,
        breaks: Any = None,
    ) -> ScanResult:
        """Scan one batch of one stream into columns (``lines`` without transport prefixes) and facts.

        The common case (every line a well-formed v3 record) runs as a few list comprehensions
        and C-level ``map`` calls over the batch; lines that miss a cache or are not plain v3
        are then handled one by one, in order, by the slow path.

        Args:
            lines: physical lines without newlines (``bytes``).
            state: the stream's state; updated in place.
            component_id: the stream's component id, or None to take it from each line.
            received_at: arrival time, used until the stream has shown a time.
            joined: ``b"\\n".join(lines)``, when the caller has it (batches of :data:`~vscan.MIN_LINES`
                lines or more are recognised from it at once, see :mod:`~postaltop.core.parsing.vscan`).
            breaks: with ``joined``, ``vscan.newlines(joined)`` when the caller has it.
        """
        n = len(lines)
        res = ScanResult(lines)
        if n == 0:
            return res
        if n >= vscan.MIN_LINES and _VECTOR and self._fact_tables is not None:
            found = self._columns(lines, res, joined, breaks)
            if found is not None:
                return self._scan_columns(lines, found, state, res, component_id, received_at)
        stamps = list(map(_STAMP, lines))
        tmap = self.times.map
        # a live batch nearly always brings new seconds: convert each new stamp once, then look the
        # batch up (in C); a stamp that is no time stays missing and goes to `_learn`
        new = set(stamps).difference(tmap)
        if new:
            convert = self.times.convert
            for stamp in new:
                convert(stamp)
        ts = list(map(tmap.get, stamps, repeat(_MISSING)))
        heads = list(map(_HEAD, lines))
        level = list(map(self._heads.get, heads, repeat(-1)))
        fmt = _V3_ROW * n
        res.ts, res.level, res.fmt = ts, level, fmt
        bad = self._learn(lines, ts, heads, level) if min(ts) == _MISSING or min(level) < 0 else []
        fast = list(compress(range(n), map(self._fact_heads.__contains__, heads)))
        if bad:
            badset = set(bad)
            fast = [i for i in fast if i not in badset]
        return self._finish(lines, bad, fast, state, res, component_id, received_at)

    def _columns(
        self, lines: Sequence[bytes], res: ScanResult, joined: bytes | None, breaks: Any
    ) -> vscan.Columns | None:
        """The vectorised pass over the batch (None if a line holds a newline); notes the joined bytes."""
        if self._vector is None:
            assert self._fact_tables is not None
            self._vector = vscan.FactHeads(*self._fact_tables)
        data = b"\n".join(lines) if joined is None else joined
        found = vscan.columns(
            data, len(lines), self.times, self._vector, breaks if joined is not None else None
        )
        if found is not None:
            res.joined, res.starts = data, found.starts
        return found

    def _scan_columns(
        self,
        lines: Sequence[bytes],
        found: vscan.Columns,
        state: StreamState,
        res: ScanResult,
        component_id: int | None,
        received_at: float,
    ) -> ScanResult:
        """:meth:`scan` from the vectorised pass's columns: the lines it left go the per-line way."""
        np = bytescan.numpy()
        n = len(lines)
        ts = found.ts.tolist()
        level = found.level.tolist()
        res.ts, res.level, res.fmt = ts, level, _V3_ROW * n
        fast = np.flatnonzero(found.fact).tolist()
        misses = np.flatnonzero(~found.plain).tolist()
        bad: list[int] = []
        if misses:
            bad, more = self._learn_at(lines, ts, level, misses)
            if more:
                fast = sorted(fast + more)
        else:
            res.arrays = (found.ts, found.level)
        self._finish(lines, bad, fast, state, res, component_id, received_at)
        if res.lines is not lines:  # the slow path changed a line: the joined bytes are not what is stored
            res.joined = res.starts = res.arrays = None
        return res

    def _finish(
        self,
        lines: Sequence[bytes],
        bad: list[int],
        fast: list[int],
        state: StreamState,
        res: ScanResult,
        component_id: int | None,
        received_at: float,
    ) -> ScanResult:
        """What both ways of scanning end with, once time and level are known for the plain lines: the
        slow path for the ``bad`` lines, the component column, ``fast``, and the stream's state."""
        n = len(lines)
        res.fast = fast
        if component_id is not None:
            res.component = array("H", (component_id,)) * n
            state.last_component = component_id
        if bad:
            self._slow_lines(lines, bad, state, res, component_id, received_at)
        elif component_id is None:
            comp = state.last_component
            cols = res.component
            for line in lines:
                comp = self._component_of(line, comp)
                cols.append(comp)
            state.last_component = comp
        state.last_ts = res.ts[-1]
        if not bad or bad[-1] != n - 1:
            state.last_level = res.level[-1]
        return res

    def _learn_at(
        self, lines: Sequence[bytes], ts: list[float], level: list[int], misses: list[int]
    ) -> tuple[list[int], list[int]]:
        """Recognise the ``misses`` one by one: (the lines that are not plain v3, the new fact candidates)."""
        bad: list[int] = []
        more: list[int] = []
        convert = self.times.convert
        for i in misses:
            line = lines[i]
            t = convert(line[:25]) if line[25:26] == b" " else None
            sev = SEVERITY_FIELD.get(line[26:33]) if t is not None else None
            if t is None or sev is None:
                bad.append(i)
                continue
            ts[i] = t
            level[i] = sev
            if self._wants(line[33:44]):
                more.append(i)
        return bad, more

    def _learn(
        self, lines: Sequence[bytes], ts: list[float], heads: list[bytes], level: list[int]
    ) -> list[int]:
        """Fill cache misses in place; return the indexes of lines that are not plain v3."""
        bad: list[int] = []
        convert = self.times.convert
        misses = sorted(set(positions(ts, _MISSING)) | set(positions(level, -1)))  # type: ignore[arg-type]
        for i in misses:
            t = ts[i]
            lv = level[i]
            line = lines[i]
            if t == _MISSING:
                found = convert(line[:25]) if line[25:26] == b" " else None
                if found is None:
                    bad.append(i)
                    continue
                ts[i] = found
            if lv < 0:
                sev = SEVERITY_FIELD.get(line[26:33])
                if sev is None:
                    bad.append(i)
                    continue
                head = heads[i]
                if len(self._heads) > _MAX_HEADS:
                    self._heads.clear()
                    self._fact_heads.clear()
                self._heads[head] = sev
                if self._wants(line[33:44]):
                    self._fact_heads.add(head)
                level[i] = sev
        return bad

    def _slow_lines(
        self,
        lines: Sequence[bytes],
        bad: list[int],
        state: StreamState,
        res: ScanResult,
        component_id: int | None,
        received_at: float,
    ) -> None:
        """Classify the ``bad`` lines in order, inheriting time/level from what precedes them."""
        ts, level, fmt = res.ts, res.level, res.fmt
        out: list[bytes] | None = None
        badset = set(bad)
        last_ts = state.last_ts
        last_lv = state.last_level
        last_comp = state.last_component
        comps = res.component if component_id is None else None
        for i, line in enumerate(lines):
            if i not in badset:
                last_ts = ts[i]
                last_lv = level[i]
                if comps is not None:
                    last_comp = self._component_of(line, last_comp)
                    comps.append(last_comp)
                continue
            body, t, lv, f, comp = self._slow(line, last_ts, last_lv, last_comp, i, res)
            if body is not line:
                if out is None:
                    out = list(lines)
                out[i] = body
            if t is None:
                t = received_at if last_ts is None else last_ts
            last_ts = t
            if f != _RAW:
                last_lv = lv
            ts[i] = t
            level[i] = lv
            fmt[i] = f
            if comps is not None:
                last_comp = comp
                comps.append(comp)
        state.last_level = last_lv
        if comps is not None:
            state.last_component = last_comp
        if out is not None:
            res.lines = out

    def _component_of(self, line: bytes, fallback: int) -> int:
        """Component id from a line's tags: ``component=`` (last one), or web for requests."""
        j = line.rfind(b" component=")
        if j >= 0:
            end = line.find(b" ", j + 11)
            value = line[j + 11 :] if end < 0 else line[j + 11 : end]
            found = self._tag_ids.get(value)
            if found is None:
                name = COMPONENT_TAGS.get(value)
                if name is None:
                    return fallback
                found = self._tag_ids[value] = self._intern(name)
            return found
        if b" event=request " in line or b"event=send_email " in line:
            return self._intern("web")
        return fallback

    def _slow(
        self, line: bytes, last_ts: float | None, last_lv: int, last_comp: int, i: int, res: ScanResult
    ) -> tuple[bytes, float | None, int, int, int]:
        """Classify a line the fast path did not recognise.

        Returns:
            (stored bytes, time or None, level, format, component id).
        """
        stripped = strip_prefixes(line)
        body = stripped.body
        comp = last_comp
        if stripped.component is not None:
            comp = self._intern(stripped.component)
        parse = body
        if body[:2] == b"\x1b[":
            # `logging.highlighting_enabled` colours whole lines; classify an uncoloured copy
            parse = SGR_BYTES.sub(b"", body)
        if looks_v3(parse):
            t = self.times.convert(parse[:25])
            lv: int | None = SEVERITY_FIELD.get(parse[26:33])
            start = MESSAGE_START
            if lv is None:
                found = severity_and_message_start(parse)
                if found is not None:
                    lv, start = found
            if t is not None and lv is not None:
                if stripped.ts is not None:
                    t = stripped.ts
                if self._wants(parse[start : start + 11]):
                    res.candidates.append((i, parse, start, _V3))
                if stripped.component is None:
                    comp = self._component_of(parse, comp)
                return body, t, lv, _V3, comp
        head = match_v2(parse)
        if head is not None:
            res.candidates.append((i, parse, head.message_start, _V2))
            if stripped.component is None and head.component is not None:
                comp = self._intern(head.component)
            t2 = head.ts if stripped.ts is None else stripped.ts
            return body, t2, head.level, _V2, comp
        if parse[:1] == b" ":
            eq = parse.find(b"=", 1, 40)
            if eq > 1 and parse[1:eq] in _KNOWN_KEYS_B:
                res.candidates.append((i, parse, 0, _CONT))
                if stripped.component is None:
                    comp = self._component_of(parse, comp)
                t3 = stripped.ts if stripped.ts is not None else last_ts
                return body, t3, last_lv, _CONT, comp
        return body, stripped.ts, _UNKNOWN, _RAW, comp

"""Recognise the plain v3 lines of a big batch at once, with numpy, from the batch's joined bytes.

The per-line scan (:meth:`~postaltop.core.parsing.scan.Scanner.scan`) answers three questions for
every line with a few C-level ``map`` calls over Python ``bytes`` slices: its time (a dict lookup on
the 25-byte stamp), its level (a lookup on the severity field) and whether it may carry a fact. At
a backlog or a burst that was half of ingest's time. Here the same answers come from the batch's
bytes joined by ``\\n`` (which the store keeps anyway), for all lines in a handful of array steps:

* the first 44 bytes of every line are gathered as fixed-size records (one copy, ~4 ns a line), read
  through a structured dtype as integer fields;
* the time: stamps change only every few lines in a stream, so only the first line of each run of
  equal stamps is converted (through the same :class:`~postaltop.core.parsing.v3.TimeCache`) and the
  values are repeated over the runs;
* the level: bytes 25-32 (the space and the 7-byte severity field) as one integer, looked up in the
  sorted integers of :data:`~postaltop.core.parsing.v3.SEVERITY_FIELD`;
* the fact candidates: the first 4 message bytes as one integer among the fact keys, refined by
  :data:`~postaltop.core.fact_handlers.HEAD_RULES` exactly as :func:`may_carry_fact` refines them.

A line shorter than 44 bytes, or whose stamp or severity is not v3's, is left to the per-line path
(:attr:`Columns.plain` is False for it), which gives the same answers as before for every line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from postaltop.core import bytescan
from postaltop.core.parsing.v3 import SEVERITY_FIELD, TimeCache

HEAD_BYTES = 44
"""Bytes of a line read here: stamp (0-24), space (25), severity (26-32), 11 message bytes (33-43)."""
MIN_LINES = 256
"""Smaller batches take the per-line path: numpy's fixed cost per call would outweigh its speed."""

_FIELDS = {
    # name: (numpy type, offset); the stamp is t0-t3, `sev` is the space and the severity field,
    # `k4` the first 4 message bytes, `end8` message bytes 3-10 (the rules read their tails)
    "t0": ("<u8", 0),
    "t1": ("<u8", 8),
    "t2": ("<u8", 16),
    "t3": ("u1", 24),
    "sev": ("<u8", 25),
    "k4": ("<u4", 33),
    "end8": ("<u8", 36),
}
_NAN = math.nan
_NOT_SECONDS = ~(0xFFFF << 8) & 0xFFFF_FFFF_FFFF_FFFF
"""Masks the seconds (stamp bytes 17-18) out of field ``t2`` (stamp bytes 16-23)."""
_TENS, _ONES, _BYTE = 8, 16, 0xFF


def _le(data: bytes) -> int:
    return int.from_bytes(data, "little")


_SEV_KEYS = sorted((_le(b" " + field), level) for field, level in SEVERITY_FIELD.items())
_state: dict[str, Any] = {}

HeadRules = Mapping[bytes, tuple[int, bool, frozenset[bytes]]]
"""``key -> (lo, inside, values)``: a line whose message starts with ``key`` may carry a fact only when
``(head[lo:11] in values) == inside`` (:data:`~postaltop.core.fact_handlers.HEAD_RULES`)."""


class FactHeads:
    """The message heads that may carry a fact, as :func:`~postaltop.core.fact_handlers.may_carry_fact`
    decides: 4-byte keys, some refined by a rule on the rest of the 11-byte head.

    Args:
        keys: the first 4 message bytes of every line that may carry a fact.
        rules: the refinements (each ``lo`` at least 3: message bytes ``lo``-10 fit ``end8``).
    """

    def __init__(self, keys: frozenset[bytes], rules: HeadRules) -> None:
        if any(lo < 3 or len(v) != 11 - lo for _, (lo, _, values) in rules.items() for v in values):
            raise ValueError("a rule must read message bytes lo-10 with lo >= 3")
        np = bytescan.numpy()
        self.keys = np.array(sorted(_le(key) for key in keys), dtype=np.uint32)
        self.rules = [
            (
                _le(key),
                np.uint64(8 * (lo - 3)),
                inside,
                np.array(sorted(_le(v) for v in values), dtype=np.uint64),
            )
            for key, (lo, inside, values) in rules.items()
        ]
        """``(key, bits to drop from end8, inside, values)``: ``end8 >> bits`` is message bytes ``lo``-10."""


def _tables() -> dict[str, Any]:
    """The numpy forms of the tables above (built on first use: numpy is imported lazily)."""
    if not _state:
        np = bytescan.numpy()
        names = list(_FIELDS)
        _state["row"] = np.dtype(
            {
                "names": names,
                "formats": [_FIELDS[n][0] for n in names],
                "offsets": [_FIELDS[n][1] for n in names],
                "itemsize": HEAD_BYTES,
            }
        )
        _state["sev_keys"] = np.array([k for k, _ in _SEV_KEYS], dtype=np.uint64)
        _state["sev_levels"] = np.array([v for _, v in _SEV_KEYS], dtype=np.int16)
    return _state


@dataclass(slots=True)
class Columns:
    """What the vectorised pass found for each line of a batch (numpy arrays, one item per line)."""

    starts: Any
    """Offset of each line in the joined bytes (int64)."""
    ts: Any
    """UNIX time (float64); NaN where the line is not plain v3."""
    level: Any
    """Level (int16); -1 where the line is not plain v3."""
    plain: Any
    """Whether the line is a plain v3 record of at least :data:`HEAD_BYTES` bytes (bool)."""
    fact: Any
    """Plain, and its message head may carry a fact (bool)."""


def newlines(joined: bytes) -> Any:
    """Offsets of the ``\\n`` bytes in ``joined`` (an int64 array)."""
    np = bytescan.numpy()
    return np.flatnonzero(np.frombuffer(joined, dtype=np.uint8) == 10)


def columns(joined: bytes, n: int, times: TimeCache, facts: FactHeads, breaks: Any = None) -> Columns | None:
    """Recognise the plain v3 lines among the ``n`` lines of ``joined`` (the lines joined by ``\\n``).

    Args:
        breaks: ``newlines(joined)``, when the caller has it.

    Returns:
        None when ``joined`` does not hold exactly ``n`` lines (a line held a ``\\n``).
    """
    np = bytescan.numpy()
    tables = _tables()
    newlines_ = newlines(joined) if breaks is None else breaks
    if len(newlines_) != n - 1:
        return None
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 0
    starts[1:] = newlines_ + 1
    ends = np.empty(n, dtype=np.int64)
    ends[:-1] = newlines_
    ends[-1] = len(joined)
    buf = joined if starts[-1] + HEAD_BYTES <= len(joined) else joined + bytes(HEAD_BYTES)
    heads = np.ndarray(buffer=buf, dtype=f"V{HEAD_BYTES}", shape=(len(buf) - HEAD_BYTES + 1,), strides=(1,))
    rows = heads[starts].view(tables["row"])
    ts = _times(np, rows, starts, joined, times)
    sev_keys = tables["sev_keys"]
    sev = rows["sev"]
    at = np.minimum(np.searchsorted(sev_keys, sev), len(sev_keys) - 1)
    known = sev_keys[at] == sev
    level = np.where(known, tables["sev_levels"][at], np.int16(-1))
    plain = known & (ends - starts >= HEAD_BYTES) & ~np.isnan(ts)
    return Columns(starts, ts, level, plain, plain & _may_carry_fact(np, facts, rows))


def _times(np: Any, rows: Any, starts: Any, joined: bytes, times: TimeCache) -> Any:
    """Each line's stamp as UNIX time (NaN where it is none), as :meth:`TimeCache.convert` gives it.

    All but the seconds are converted once per run of lines in the same minute (through the cache's
    own per-minute conversion); the seconds' two digits are read for every line at once.
    """
    n = len(rows)
    t0, t1, t2, t3 = rows["t0"], rows["t1"], rows["t2"], rows["t3"]
    minute = t2 & _NOT_SECONDS  # bytes 16-23 without the seconds (bytes 17 and 18)
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(t0[1:], t0[:-1], out=new[1:])
    new[1:] |= t1[1:] != t1[:-1]
    new[1:] |= minute[1:] != minute[:-1]
    new[1:] |= t3[1:] != t3[:-1]
    firsts = np.flatnonzero(new)
    base = times.minute_base
    bases = [base(joined[start : start + 25]) for start in starts[firsts].tolist()]
    values = np.repeat(
        np.array([_NAN if b is None else b for b in bases], dtype=np.float64), np.diff(firsts, append=n)
    )
    tens = ((t2 >> _TENS) & _BYTE).astype(np.int16) - 48
    ones = ((t2 >> _ONES) & _BYTE).astype(np.int16) - 48
    seconds = tens * 10 + ones
    bad = (tens < 0) | (tens > 9) | (ones < 0) | (ones > 9) | (seconds > 60)
    values += seconds
    values[bad] = _NAN
    return values


def _may_carry_fact(np: Any, facts: FactHeads, rows: Any) -> Any:
    """:func:`~postaltop.core.fact_handlers.may_carry_fact` of each line's 11-byte message head."""
    keys = facts.keys
    k4 = rows["k4"]
    at = np.minimum(np.searchsorted(keys, k4), len(keys) - 1)
    found = keys[at] == k4
    end8 = rows["end8"]
    for key, bits, inside, values in facts.rules:
        ruled = k4 == key
        if not ruled.any():
            continue
        tail = end8[ruled] >> bits
        at = np.minimum(np.searchsorted(values, tail), len(values) - 1)
        ok = (values[at] == tail) == inside
        found[np.flatnonzero(ruled)[~ok]] = False
    return found

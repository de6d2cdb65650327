"""numpy for the matcher: imported on first use, and the small array steps its scanners share.

The vectorised searches themselves (case-insensitive words and fixed-width class regexes, over a
whole block at once, without a lower-cased copy) are in :mod:`postaltop.core.classscan`; here are
the lazy import, the candidates' bounds, mapping positions to lines, and marking and emitting
0/1 line masks.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from array import array
from typing import Any

_np: Any = None
IMPORT_SWITCH_INTERVAL = 0.0002
"""GIL switch interval (s) while numpy is imported (see :func:`numpy`)."""
ONE_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Thread-pool sizes of numpy's linear algebra libraries, set to 1 unless the environment sets them.

postaltop multiplies no matrices, but OpenBLAS starts a thread per CPU when numpy is imported, and those
threads spin: 0.1 s of CPU on another core in the ingest bench's child (0.84-0.99 s of CPU for 1M lines
with one thread, 0.91-1.05 s with the pool)."""

AVAILABLE = importlib.util.find_spec("numpy") is not None
"""Whether the vectorised search can run (else the matcher uses its per-hit path). numpy itself is
imported on first use, not with the matcher: it takes 0.1-0.4 s, which the app's first paint should
not pay. Dense searches import it; the cheap paths (emitting matches, mapping a few regex hits) use
it only once it is loaded."""


def numpy() -> Any:
    """The numpy module, imported on first use."""
    global _np
    if _np is None:
        # numpy's import makes hundreds of file calls, each releasing the GIL; with a busy thread beside
        # it (the demo's history, a filter) each waited up to the 5 ms switch interval to get it back:
        # 1.5-2 s measured in the app, 0.15 s alone. A short interval during the import avoids that.
        for name in ONE_THREAD:
            os.environ.setdefault(name, "1")
        before = sys.getswitchinterval()
        sys.setswitchinterval(min(before, IMPORT_SWITCH_INTERVAL))
        try:
            import numpy as np_module
        finally:
            sys.setswitchinterval(before)
        _np = np_module
    return _np


def loaded() -> bool:
    """Whether numpy was imported already (cheap paths use it only then)."""
    return _np is not None


def within(positions: Any, low: int, high: int) -> Any:
    """The part of the ascending ``positions`` in ``[low, high]`` (a view: two binary searches, where
    a boolean filter would make three passes over them)."""
    np = numpy()
    return positions[np.searchsorted(positions, low) : np.searchsorted(positions, high, side="right")]


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

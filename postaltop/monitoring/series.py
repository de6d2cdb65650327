"""The per-minute and hourly rings behind the monitor's series, and what the chart draws of one."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

from postaltop.core.alerts import Scope, Severity

MINUTES_KEPT = 24 * 60
"""Per-minute values kept per series (the 24 h chart); the 7 d chart uses hourly means."""
HOURS_KEPT = 7 * 24


class Ring:
    """Fixed-size ring of floats indexed by an integer period (minute or hour); NaN = no data."""

    __slots__ = ("last", "size", "values")

    def __init__(self, size: int) -> None:
        self.size = size
        self.values = array("d", [math.nan]) * size
        self.last = -1

    def set(self, period: int, value: float) -> None:
        if self.last >= 0 and period <= self.last - self.size:
            return
        if period > self.last:
            if self.last >= 0:
                for p in range(max(self.last + 1, period - self.size + 1), period):
                    self.values[p % self.size] = math.nan
            self.last = period
        self.values[period % self.size] = value

    def get(self, period: int) -> float:
        if period > self.last or period <= self.last - self.size:
            return math.nan
        return self.values[period % self.size]

    def finite_sum(self, start: int, stop: int) -> float:
        """``sum`` of the finite values :meth:`get` reads for periods ``start`` to ``stop - 1`` (at most
        ``size`` of them), in order.

        The same figure as summing ``get`` over the range, from a slice of the array (the monitor
        recomputes an hour's mean on every AUTH failure it counts).
        """
        lo, hi = max(start, self.last - self.size + 1), min(stop, self.last + 1)
        if lo >= hi:
            return 0
        a = lo % self.size
        b = a + (hi - lo)
        part = self.values[a:b] if b <= self.size else self.values[a:] + self.values[: b - self.size]
        return sum(filter(math.isfinite, part))


@dataclass(frozen=True, slots=True)
class SeriesView:
    """What the chart draws for one (scope, metric) over a window."""

    scope: Scope
    metric: str
    step: int
    """Seconds per point (60, or 3600 for the 7 d window)."""
    times: list[float]
    values: list[float]
    """Per-minute rate (NaN where there is no data)."""
    expected: list[float]
    low: list[float]
    high: list[float]
    learning: bool
    markers: list[tuple[float, Severity]]


class Series:
    __slots__ = ("flagged", "hours", "hsum", "minutes")

    def __init__(self) -> None:
        self.minutes = Ring(MINUTES_KEPT)
        self.hours = Ring(HOURS_KEPT)
        self.hsum: tuple[int, float, int] = (-1, 0.0, 0)
        self.flagged: dict[int, None] = {}
        """Minutes a detector flagged (oldest first), left out of the short-term baseline."""

"""Streaming statistics: the median of the last N values (a sorted window) and a maximum that fades with age.

The median is O(log N) to query and O(N) memory moves at worst per value (a Python list kept sorted with
:mod:`bisect`), fast enough for tens of thousands of points per second.
"""

from __future__ import annotations

import bisect
import math
from collections import deque


class RollingMedian:
    """The median of the last ``size`` values added (the upper median for an even count)."""

    __slots__ = ("_order", "_size", "_sorted")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("size must be >= 1")
        self._size = size
        self._order: deque[float] = deque()
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._order)

    def add(self, value: float) -> None:
        """Add ``value``, dropping the oldest value when the window is full."""
        self._order.append(value)
        bisect.insort(self._sorted, value)
        if len(self._order) > self._size:
            old = self._order.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]

    def median(self) -> float:
        """The median of the window (NaN when empty)."""
        if not self._sorted:
            return float("nan")
        return self._sorted[len(self._sorted) // 2]

    def span(self) -> float:
        """Largest minus smallest value of the window (0 when empty)."""
        return self._sorted[-1] - self._sorted[0] if self._sorted else 0.0


class DecayingMax:
    """The largest value seen, each fading by a factor e every ``memory`` steps (the caller numbers steps).

    ``max v_i · exp((i - now) / memory)``; steps must not decrease. O(1) per step.
    """

    __slots__ = ("_last", "_rate", "_value")

    def __init__(self, memory: float) -> None:
        if not memory > 0:
            raise ValueError("memory must be > 0")
        self._rate = 1.0 / memory
        self._value = 0.0
        self._last = 0

    def get(self, step: int) -> float:
        """The faded maximum at ``step`` (0 before any value)."""
        if step > self._last and self._value > 0.0:
            self._value *= math.exp(-self._rate * (step - self._last))
        self._last = max(self._last, step)
        return self._value

    def add(self, step: int, value: float) -> None:
        """Record ``value`` at ``step``."""
        self.get(step)
        self._value = max(self._value, value)

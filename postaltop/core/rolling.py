"""Rolling statistics over the last N values of a stream: median (sorted window), maximum (monotonic queue).

Both are O(log N) to query and amortised O(N) memory moves at worst per value (the sorted window is a
Python list kept sorted with :mod:`bisect`), fast enough for hundreds of thousands of points per second.
"""

from __future__ import annotations

import bisect
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


class RollingMax:
    """The largest value added during the last ``size`` steps (0 when none); the caller numbers the steps."""

    __slots__ = ("_queue", "_size")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("size must be >= 1")
        self._size = size
        self._queue: deque[tuple[int, float]] = deque()

    def get(self, step: int) -> float:
        """The maximum of the values added at steps in ``(step - size, step]``."""
        queue = self._queue
        while queue and queue[0][0] <= step - self._size:
            queue.popleft()
        return queue[0][1] if queue else 0.0

    def add(self, step: int, value: float) -> None:
        """Record ``value`` at ``step`` (steps must not decrease)."""
        queue = self._queue
        while queue and queue[-1][1] <= value:
            queue.pop()
        queue.append((step, value))

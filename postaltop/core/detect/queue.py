"""Queue growth: the queue depth rising steadily (workers stuck, a remote MX deferring everything).

Least-squares slope of the depth over the last ``window`` seconds; flagged when the queue grew by at least
``min_growth`` messages over the window and is at least ``min_depth`` deep now.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from postaltop.core.alerts import Finding, Scope, Severity
from postaltop.core.detect import ACTIONS, finite


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """Tuning of :class:`QueueGrowthDetector`."""

    window: float = 600.0
    min_points: int = 5
    min_depth: int = 200
    warning_growth: float = 200.0
    """Messages gained over the window for a warning ..."""
    critical_growth: float = 1000.0
    """... and for a critical alert."""


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(t, y)`` points (0 when undefined)."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var <= 0:
        return 0.0
    return sum((t - mt) * (y - my) for t, y in points) / var


class QueueGrowthDetector:
    """Per-scope recent queue depths."""

    kind = "queue_growth"

    def __init__(self, settings: QueueSettings | None = None) -> None:
        self.settings = settings or QueueSettings()
        self._points: dict[Scope, deque[tuple[float, float]]] = {}

    def update(self, scope: Scope, depth: float, ts: float) -> Finding | None:
        """Add one depth reading; a finding while the queue keeps growing."""
        if not finite(depth) or not finite(ts) or depth < 0:
            return None
        s = self.settings
        points = self._points.setdefault(scope, deque())
        if points and ts <= points[-1][0]:
            return None
        points.append((ts, depth))
        while points and points[0][0] < ts - s.window:
            points.popleft()
        if len(points) < s.min_points or depth < s.min_depth:
            return None
        growth = slope(list(points)) * s.window
        if growth >= s.critical_growth:
            severity = Severity.CRITICAL
        elif growth >= s.warning_growth:
            severity = Severity.WARNING
        else:
            return None
        why = f"queue {depth:.0f} deep, growing ~{growth:.0f} per {s.window / 60:.0f} min"
        return Finding(self.kind, scope, "queue_depth", severity, depth, None, why, ts, ACTIONS["queue"])

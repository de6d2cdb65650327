"""Dynamic check: an EWMA of the per-minute value against the hour-of-week baseline, as a robust z-score.

``z = (ewma - median) / sqrt(spread² + noise²)`` where ``spread`` is the baseline's MAD-based deviation and
``noise`` the Poisson noise left in the EWMA of counts (``median · alpha/(2-alpha)``). Only upward deviations
are flagged (abuse sends more, not less). A scope whose baseline is ``learning`` is never flagged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from postaltop.core.alerts import Finding, Scope, Severity
from postaltop.core.baseline import Expectation
from postaltop.core.detect import action_for, finite, fmt_rate


@dataclass(frozen=True, slots=True)
class ZScoreSettings:
    """Tuning of :class:`ZScoreDetector`."""

    alpha: float = 0.3
    """EWMA weight of the newest minute."""
    warning_z: float = 5.0
    critical_z: float = 10.0
    min_rate: float = 5.0
    """Below this many per minute nothing is flagged (a tiny scope doubling is not news)."""
    min_ratio: float = 1.5
    """The EWMA must also be at least this multiple of the median."""


def robust_z(value: float, expected: Expectation, alpha: float) -> float:
    """How many deviations ``value`` lies above ``expected`` (0 when it cannot be computed)."""
    noise2 = max(expected.median, 0.0) * alpha / (2.0 - alpha)
    sd = math.sqrt(expected.spread**2 + noise2)
    if sd <= 0 or not finite(value):
        return 0.0
    return (value - expected.median) / sd


class ZScoreDetector:
    """Per (scope, metric) EWMA, compared with the baseline every minute."""

    kind = "zscore"

    def __init__(self, settings: ZScoreSettings | None = None) -> None:
        self.settings = settings or ZScoreSettings()
        self.ewma: dict[tuple[Scope, str], float] = {}

    def update(
        self, scope: Scope, metric: str, value: float, expected: Expectation, ts: float
    ) -> Finding | None:
        """Fold one per-minute ``value`` into the EWMA and return a finding if it is anomalous."""
        if not finite(value) or value < 0:
            return None
        key = (scope, metric)
        s = self.settings
        prev = self.ewma.get(key)
        ewma = value if prev is None else s.alpha * value + (1 - s.alpha) * prev
        self.ewma[key] = ewma
        if expected.learning or ewma < s.min_rate or ewma < expected.median * s.min_ratio:
            return None
        z = robust_z(ewma, expected, s.alpha)
        if z >= s.critical_z:
            severity = Severity.CRITICAL
        elif z >= s.warning_z:
            severity = Severity.WARNING
        else:
            return None
        why = f"{metric} {fmt_rate(ewma)} vs {fmt_rate(expected.median)} usual at this hour (z={z:.1f})"
        return Finding(self.kind, scope, metric, severity, ewma, expected.median, why, ts, action_for(scope))

    def forget(self, scope: Scope, metric: str) -> None:
        """Drop the EWMA of a series (after a gap, so stale state does not linger)."""
        self.ewma.pop((scope, metric), None)

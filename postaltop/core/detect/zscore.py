"""Dynamic check: an EWMA of the per-minute value against the hour-of-week baseline, as a robust z-score.

``z = (ewma - median) / sqrt(spread² + noise²)`` where ``spread`` is the baseline's MAD-based deviation and
``noise`` the Poisson noise left in the EWMA of counts (``median · alpha/(2-alpha)``). Only upward deviations
are flagged (abuse sends more, not less). A scope whose baseline is ``learning`` is never flagged.

A minute is judged when it closes; :meth:`ZScoreDetector.peek` also judges the minute in progress (critical
only, with the larger noise of a rate read off part of a minute), so a step such as a leaked credential is not
left waiting for the EWMA to climb over two minute closes.
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


PEEK_AFTER = 30.0
"""Seconds of the minute in progress that must be counted before :meth:`ZScoreDetector.peek` judges it."""


def robust_z(value: float, expected: Expectation, alpha: float, covered: float = 60.0) -> float:
    """How many deviations ``value`` (an EWMA) lies above ``expected`` (0 when it cannot be computed).

    ``covered``: seconds of the newest minute behind ``value``. Its rate, read off fewer than 60 s, carries
    Poisson variance ``median · 60/covered``. Weighted by ``alpha²``, beside the stationary noise of the
    previous EWMA weighted by ``(1-alpha)²``, that gives ``median · alpha/(2-alpha)`` again at 60 s.
    """
    older = (1.0 - alpha) ** 2 * alpha / (2.0 - alpha)
    noise2 = max(expected.median, 0.0) * (alpha**2 * 60.0 / max(covered, 1.0) + older)
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

    def peek(
        self, scope: Scope, metric: str, so_far: float, covered: float, expected: Expectation, ts: float
    ) -> Finding | None:
        """A critical finding from the minute in progress: ``so_far`` counted in its first ``covered`` s.

        The EWMA is read as it would close at the rate so far, with the noise of a rate read off ``covered``
        seconds. A step is then flagged up to 30 s into the minute that makes it critical, not at that
        minute's close. Nothing is kept: the minute is folded in, for good, by :meth:`update` when it closes.
        Only a series with an EWMA already counts.
        """
        prev = self.ewma.get((scope, metric))
        if prev is None or expected.learning or covered < PEEK_AFTER or not finite(so_far) or so_far < 0:
            return None
        s = self.settings
        ewma = s.alpha * so_far * 60.0 / covered + (1 - s.alpha) * prev
        if ewma < s.min_rate or ewma < expected.median * s.min_ratio:
            return None
        z = robust_z(ewma, expected, s.alpha, covered)
        if z < s.critical_z:
            return None
        usual, part = fmt_rate(expected.median), f"this minute's first {covered:.0f} s"
        why = f"{metric} {fmt_rate(ewma)} vs {usual} usual at this hour (z={z:.1f}, {part})"
        return Finding(
            self.kind, scope, metric, Severity.CRITICAL, ewma, expected.median, why, ts, action_for(scope)
        )

    def forget(self, scope: Scope, metric: str) -> None:
        """Drop the EWMA of a series (after a gap, so stale state does not linger)."""
        self.ewma.pop((scope, metric), None)

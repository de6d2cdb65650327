"""Slow ramps: a one-sided CUSUM of standardised residuals against the baseline.

Abusers ramp slowly to stay under static thresholds and under a z-score's radar; CUSUM adds up small
positive residuals ``S = max(0, S + r - k)`` with ``r = (x - median) / sd``, and alarms when ``S`` exceeds
``h``. It is a **rising trend**, not a spike (the z-score handles spikes): the sum must have been building
with ``min_minutes`` minutes above the band, and the recent residuals (an EWMA) must still be above
``in_band``. Once the recent residuals are back under half of ``in_band`` the sum decays geometrically as
well as by ``k``, so the alarm ends within minutes instead of staying on for hours on seasonal data.
Learning baselines reset the sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from postaltop.core.alerts import Finding, Scope, Severity
from postaltop.core.baseline import Expectation
from postaltop.core.detect import action_for, finite, fmt_rate


@dataclass(frozen=True, slots=True)
class RampSettings:
    """Tuning of :class:`RampDetector`."""

    k: float = 0.5
    """Slack per minute, in deviations: residuals below it do not accumulate."""
    h_warning: float = 20.0
    h_critical: float = 50.0
    min_rate: float = 5.0
    """Series whose median is below this per minute are not tracked (too noisy)."""
    clamp: float = 6.0
    """Residuals are clamped to ±clamp so one burst cannot trip the ramp alarm on its own."""
    min_minutes: int = 15
    """Minutes above the band (residual ≥ ``in_band``) since the sum left 0 before it may alarm."""
    in_band: float = 1.0
    """The recent residual must be at least this for an alarm; under half of it the sum decays."""
    decay: float = 0.85
    alpha: float = 0.1
    """EWMA weight of the recent residual that must stay above ``in_band`` while alarming."""


class RampDetector:
    """Per (scope, metric) CUSUM."""

    kind = "ramp"

    def __init__(self, settings: RampSettings | None = None) -> None:
        self.settings = settings or RampSettings()
        self.sums: dict[tuple[Scope, str], float] = {}
        self._runs: dict[tuple[Scope, str], int] = {}
        """Minutes above the band since the sum was last 0 (a few spiking minutes are no trend)."""
        self._recent: dict[tuple[Scope, str], float] = {}

    def update(
        self, scope: Scope, metric: str, value: float, expected: Expectation, ts: float
    ) -> Finding | None:
        """Add one per-minute ``value``; a finding while the CUSUM is above its threshold."""
        key = (scope, metric)
        s = self.settings
        if expected.learning or not finite(value) or value < 0 or expected.median < s.min_rate:
            self.sums.pop(key, None)
            self._runs.pop(key, None)
            self._recent.pop(key, None)
            return None
        sd = math.sqrt(expected.spread**2 + expected.median)
        r = max(-s.clamp, min(s.clamp, (value - expected.median) / sd))
        recent = self._recent.get(key, r)
        recent = s.alpha * r + (1 - s.alpha) * recent
        self._recent[key] = recent
        total = max(0.0, self.sums.get(key, 0.0) + r - s.k)
        if recent < s.in_band / 2:
            total *= s.decay  # back in band on average: let the alarm end
        self.sums[key] = total
        run = (self._runs.get(key, 0) + (r >= s.in_band)) if total > 0 else 0
        self._runs[key] = run
        if run < s.min_minutes or recent < s.in_band:
            return None
        if total >= s.h_critical:
            severity = Severity.CRITICAL
        elif total >= s.h_warning:
            severity = Severity.WARNING
        else:
            return None
        why = (
            f"rising trend: {metric} {fmt_rate(value)} vs {fmt_rate(expected.median)} usual at this hour, "
            f"above its band for {run} min (cusum {total:.0f})"
        )
        return Finding(self.kind, scope, metric, severity, value, expected.median, why, ts, action_for(scope))

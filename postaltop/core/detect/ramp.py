"""Slow ramps: a one-sided CUSUM of standardised residuals against the baseline.

Abusers ramp slowly to stay under static thresholds and under a z-score's radar; CUSUM adds up small
positive residuals ``S = max(0, S + r - k)`` with ``r = (x - median) / sd``, and alarms when ``S`` exceeds
``h``. A run of normal minutes pulls ``S`` back to 0, so a single spike does not trip it (the z-score handles
spikes). Learning baselines reset the sum.
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


class RampDetector:
    """Per (scope, metric) CUSUM."""

    kind = "ramp"

    def __init__(self, settings: RampSettings | None = None) -> None:
        self.settings = settings or RampSettings()
        self.sums: dict[tuple[Scope, str], float] = {}

    def update(
        self, scope: Scope, metric: str, value: float, expected: Expectation, ts: float
    ) -> Finding | None:
        """Add one per-minute ``value``; a finding while the CUSUM is above its threshold."""
        key = (scope, metric)
        s = self.settings
        if expected.learning or not finite(value) or value < 0 or expected.median < s.min_rate:
            self.sums.pop(key, None)
            return None
        sd = math.sqrt(expected.spread**2 + expected.median)
        r = max(-s.clamp, min(s.clamp, (value - expected.median) / sd))
        total = max(0.0, self.sums.get(key, 0.0) + r - s.k)
        self.sums[key] = total
        if total >= s.h_critical:
            severity = Severity.CRITICAL
        elif total >= s.h_warning:
            severity = Severity.WARNING
        else:
            return None
        why = f"{metric} creeping up {fmt_rate(value)} vs {fmt_rate(expected.median)} (cusum {total:.0f})"
        return Finding(self.kind, scope, metric, severity, value, expected.median, why, ts, action_for(scope))

"""Run the dynamic detectors over one plain series (no hour-of-week baseline): ``bench/nab.py``'s adapter.

A series of arbitrary values (CPU %, taxi passengers, latency) has no hour-of-week history, so each point
is compared with a rolling robust baseline of the points before it (median and MAD over ``window``
points, like the monitor's "last hour" fallback). The point is standardised against it and handed to the
real :class:`~postaltop.core.detect.zscore.ZScoreDetector` (EWMA + robust z) and
:class:`~postaltop.core.detect.ramp.RampDetector` (CUSUM) on a scale where the baseline is
``median=100, spread=10`` (the detectors' count-based noise term then stays small and fixed). Both
directions are watched: a mirrored copy of the series catches drops. A point is a detection when any
detector starts returning findings at it (the rising edge, as an alert fires once and stays open: a
detector that keeps finding the same anomaly for 50 points is one detection, not 50).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from postaltop.core.alerts import Scope, ScopeKind
from postaltop.core.baseline import MAD_TO_SIGMA, Expectation, median
from postaltop.core.detect.ramp import RampDetector, RampSettings
from postaltop.core.detect.zscore import ZScoreDetector, ZScoreSettings

CENTRE = 100.0
UNIT = 10.0


@dataclass(frozen=True, slots=True)
class SeriesSettings:
    """Tuning of :func:`detect_series`."""

    window: int = 200
    """Points in the rolling baseline."""
    min_points: int = 30
    """Points needed before anything is judged."""
    warning_z: float = 5.0
    critical_z: float = 10.0
    ramp: bool = True
    """Also run the CUSUM ramp detector."""
    cooldown: int = 0
    """Points after a detection during which further detections are dropped (0: keep all)."""


def detect_series(values: Sequence[float], settings: SeriesSettings | None = None) -> list[bool]:
    """One flag per point: True where the z-score or CUSUM detector raised a finding."""
    s = settings or SeriesSettings()
    zscore = ZScoreDetector(
        ZScoreSettings(warning_z=s.warning_z, critical_z=s.critical_z, min_rate=0.0, min_ratio=0.0)
    )
    ramp = RampDetector(RampSettings(min_rate=0.0))
    up, down = Scope(ScopeKind.GLOBAL, "up"), Scope(ScopeKind.GLOBAL, "down")
    recent: deque[float] = deque(maxlen=s.window)
    out: list[bool] = []
    quiet_until = -1
    was = False
    for i, x in enumerate(values):
        flagged = False
        if math.isfinite(x) and len(recent) >= s.min_points:
            med = median(list(recent))
            mad = median([abs(v - med) for v in recent])
            spread = max(mad * MAD_TO_SIGMA, 1e-9 * max(1.0, abs(med)))
            r = (x - med) / spread
            expected = Expectation(CENTRE, UNIT, len(recent), False)
            for scope, sign in ((up, 1.0), (down, -1.0)):
                value = max(0.0, CENTRE + sign * UNIT * r)
                found = zscore.update(scope, "value", value, expected, float(i))
                if s.ramp:
                    found = ramp.update(scope, "value", value, expected, float(i)) or found
                flagged = flagged or found is not None
        if math.isfinite(x):
            recent.append(x)
        rising = flagged and not was
        was = flagged
        flagged = rising
        if flagged and i <= quiet_until:
            flagged = False
        elif flagged and s.cooldown:
            quiet_until = i + s.cooldown
        out.append(flagged)
    return out

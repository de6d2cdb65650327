"""Ratios: bounce rate and spam rate over a sliding window, only once enough messages were sent.

``rate = bad / attempts`` over the last ``window`` minutes (deliveries counted by delivery time). Below
``min_volume`` attempts only the lower bound of the rate's confidence interval (Wilson, z = 3) is judged,
and nothing below 20 attempts, so "1 bounce out of 2" is not a 50 % bounce rate while 20 failures out of
30 are flagged at once. The last ``short_minutes`` are judged the same way too, so a storm that just began
is not diluted by the window's older, normal minutes. When a scope has a
baseline ratio (its usual bounce rate from Postal's statistics, :meth:`RatioDetector.set_baseline`), the
limits are at least ``baseline_warning``/``baseline_critical`` times that ratio: a server whose lists always
bounce 10 % is flagged when that becomes 30 %, not every minute.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from postaltop.core.alerts import Finding, Scope, Severity
from postaltop.core.detect import action_for, finite


@dataclass(frozen=True, slots=True)
class RatioLimits:
    """Limits of one ratio (fractions, 0.05 = 5 %)."""

    warning: float
    critical: float
    min_volume: int = 100
    """Messages sent within the window before the ratio counts."""


@dataclass(frozen=True, slots=True)
class RatioSettings:
    """Tuning of :class:`RatioDetector`."""

    window_minutes: int = 10
    bounce: RatioLimits = RatioLimits(0.08, 0.15)
    spam: RatioLimits = RatioLimits(0.02, 0.05)
    short_minutes: int = 2
    """Also judged over this many minutes (by its confidence bound): a storm shows before the long window's
    older, normal minutes stop diluting it."""
    baseline_warning: float = 3.0
    """A warning needs the ratio at least this multiple of the scope's baseline ratio ..."""
    baseline_critical: float = 5.0
    """... and a critical alert this multiple."""


SMALL_SAMPLE = 20
"""Fewest attempts for which a ratio is judged at all (by its lower confidence bound below ``min_volume``)."""
CONFIDENCE_Z = 3.0


def wilson_low(bad: float, total: float, z: float = CONFIDENCE_Z) -> float:
    """Lower bound of the Wilson score interval of ``bad / total`` (0 for an empty sample)."""
    if total <= 0:
        return 0.0
    p = bad / total
    z2 = z * z
    centre = p + z2 / (2 * total)
    margin = z * math.sqrt(max(0.0, p * (1 - p) / total + z2 / (4 * total * total)))
    return max(0.0, (centre - margin) / (1 + z2 / total))


class RatioDetector:
    """Sliding sums of (sent, bounced, spam) per scope."""

    kind = "ratio"

    def __init__(self, settings: RatioSettings | None = None) -> None:
        self.settings = settings or RatioSettings()
        self._sums: dict[Scope, deque[tuple[int, float, float, float]]] = {}
        self._baselines: dict[tuple[Scope, str], float] = {}

    def set_baseline(self, scope: Scope, metric: str, ratio: float) -> None:
        """The usual ``metric`` (``bounce_rate``/``spam_rate``) of ``scope`` (ignored unless in [0, 1])."""
        if finite(ratio) and 0.0 <= ratio <= 1.0:
            self._baselines[(scope, metric)] = ratio

    def baseline(self, scope: Scope, metric: str) -> float | None:
        """The usual ratio of ``scope``, if known."""
        return self._baselines.get((scope, metric))

    def update(self, scope: Scope, minute: int, sent: float, bounced: float, spam: float) -> list[Finding]:
        """Add one minute's counts for ``scope``; findings for ratios over their limits."""
        if not (finite(sent) and finite(bounced) and finite(spam)) or min(sent, bounced, spam) < 0:
            return []
        window = self._sums.get(scope)
        if window is None:
            window = self._sums[scope] = deque()
        if window and minute < window[-1][0]:
            return []  # out of order (skew, replay): ignore
        if window and window[-1][0] == minute:
            _, s0, b0, p0 = window.pop()
            sent, bounced, spam = sent + s0, bounced + b0, spam + p0
        window.append((minute, sent, bounced, spam))
        cutoff = minute - self.settings.window_minutes * 60
        while window and window[0][0] <= cutoff:
            window.popleft()
        out: list[Finding] = []
        ts = float(minute) + 60.0
        s = self.settings
        short = [w for w in window if w[0] > minute - s.short_minutes * 60]
        for metric, column, limits in (("bounce_rate", 2, s.bounce), ("spam_rate", 3, s.spam)):
            usual = self._baselines.get((scope, metric))
            warning = max(limits.warning, (usual or 0.0) * s.baseline_warning)
            critical = max(limits.critical, (usual or 0.0) * s.baseline_critical)
            best: tuple[float, float, float, int] | None = None  # (judged, bad, total, minutes)
            for rows, minutes in ((window, s.window_minutes), (short, s.short_minutes)):
                total = sum(w[1] for w in rows)
                if total < min(limits.min_volume, SMALL_SAMPLE):
                    continue
                bad = sum(w[column] for w in rows)
                # below min_volume, only a rate whose lower confidence bound is over the limit counts (a storm
                # of 20 failures in 30 attempts is clear at once; 2 in 5 is not)
                judged = bad / total if total >= limits.min_volume else wilson_low(bad, total)
                if best is None or judged > best[0]:
                    best = (judged, bad, total, minutes)
            if best is None:
                continue
            judged, bad, total, minutes = best
            rate = bad / total
            if judged >= critical:
                severity, bound = Severity.CRITICAL, critical
            elif judged >= warning:
                severity, bound = Severity.WARNING, warning
            else:
                continue
            name = "bounce" if metric == "bounce_rate" else "spam"
            normal = f", usually {usual:.1%}" if usual is not None else ""
            why = (
                f"{name} rate {rate:.0%} over {minutes} min "
                f"({bad:.0f} of {total:.0f} delivery attempts{normal}; limit {bound:.0%})"
            )
            out.append(
                Finding(
                    self.kind + ":" + name, scope, metric, severity, rate, bound, why, ts, action_for(scope)
                )
            )
        return out

"""Ratios: bounce rate and spam rate, judged at every poll on the evidence of every recent stretch.

Counts arrive as buckets (one per poll, or one per minute when the recent past is replayed), stamped with
the end of the stretch they count; deliveries are counted by delivery time. At each update every stretch
ending now (the newest bucket, the two newest, … up to ``window_minutes``) is judged:

* **Is it unusual?** The failures must be improbable under the scope's usual ratio: the binomial tail
  ``P(X >= bad | attempts, usual)`` (a rigorous upper bound of it, :func:`binomial_tail_bound`) at most
  ``significance`` (1e-6), with at least ``min_failures`` failures. Without a known usual ratio, the ratio
  the warning limit takes as usual (``warning / baseline_warning``) stands in.
* **How far above?** The lower bound of the ratio's confidence interval (Wilson, ``confidence_z``) against
  the warning and critical limits, which are at least ``baseline_warning``/``baseline_critical`` times the
  usual ratio.

So 9 failures in 14 attempts (half a minute of a storm on a small server) are flagged at once, while 1 in 2,
or a busy server's ordinary noise, is not. The whole window, once it holds ``min_volume`` attempts, is judged
at face value (its plain ratio, not its lower bound), still only when its failures are unusual.
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
    """Attempts within the whole window from which its plain ratio (not its lower bound) is held against the
    limits, once its failures are unusual."""


@dataclass(frozen=True, slots=True)
class RatioSettings:
    """Tuning of :class:`RatioDetector`."""

    window_minutes: int = 10
    bounce: RatioLimits = RatioLimits(0.08, 0.15)
    spam: RatioLimits = RatioLimits(0.02, 0.05)
    baseline_warning: float = 3.0
    """A warning needs the ratio at least this multiple of the scope's baseline ratio ..."""
    baseline_critical: float = 5.0
    """... and a critical alert this multiple."""
    significance: float = 1e-6
    """Largest chance, under the usual ratio, of seeing as many failures in a stretch (per stretch judged)."""
    confidence_z: float = 2.0
    """Width of the ratio's confidence interval whose lower bound is held against the limits."""
    min_failures: int = 5
    """Fewest failures in a stretch before it is judged on its confidence bound."""


def wilson_low(bad: float, total: float, z: float = 2.0) -> float:
    """Lower bound of the Wilson score interval of ``bad / total`` (0 for an empty sample)."""
    if total <= 0:
        return 0.0
    p = min(1.0, bad / total)
    z2 = z * z
    centre = p + z2 / (2 * total)
    margin = z * math.sqrt(max(0.0, p * (1 - p) / total + z2 / (4 * total * total)))
    return max(0.0, (centre - margin) / (1 + z2 / total))


def binomial_tail_bound(k: float, n: float, p: float) -> float:
    """An upper bound of ``P(X >= k)`` for ``X ~ Binomial(n, p)``, tight in the far tail.

    Above the mean the terms of the tail shrink at least geometrically (ratio ``r`` of the first two), so
    the tail is at most ``pmf(k) / (1 - r)``; at or below the mean, 1.
    """
    if k <= 0 or p >= 1.0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if k <= n * p:
        return 1.0
    r = (n - k) / (k + 1) * p / (1 - p)
    if r >= 1.0:
        return 1.0
    log_pmf = (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )
    return min(1.0, math.exp(log_pmf) / (1 - r))


@dataclass(frozen=True, slots=True)
class _Judged:
    value: float
    """The figure held against the limits: a confidence bound, or the window's plain ratio."""
    bad: float
    total: float
    seconds: float


class RatioDetector:
    """Buckets of (attempts, bounced, spam) per scope over the last ``window_minutes``."""

    kind = "ratio"

    def __init__(self, settings: RatioSettings | None = None) -> None:
        self.settings = settings or RatioSettings()
        # per scope: (end, start, attempts, bounced, spam), oldest first
        self._buckets: dict[Scope, deque[tuple[float, float, float, float, float]]] = {}
        self._baselines: dict[tuple[Scope, str], float] = {}

    def set_baseline(self, scope: Scope, metric: str, ratio: float) -> None:
        """The usual ``metric`` (``bounce_rate``/``spam_rate``) of ``scope`` (ignored unless in [0, 1])."""
        if finite(ratio) and 0.0 <= ratio <= 1.0:
            self._baselines[(scope, metric)] = ratio

    def baseline(self, scope: Scope, metric: str) -> float | None:
        """The usual ratio of ``scope``, if known."""
        return self._baselines.get((scope, metric))

    def update(
        self, scope: Scope, at: float, sent: float, bounced: float, spam: float, span: float = 60.0
    ) -> list[Finding]:
        """Add the counts of the ``span`` seconds ending at ``at`` for ``scope``; findings over the limits.

        ``sent`` is the delivery attempts, ``bounced`` the failed ones (hard fails and bounces), ``spam`` the
        spam-flagged ones. Counts for the same ``at`` add up; an ``at`` older than the newest is ignored.
        """
        if (
            not (finite(sent) and finite(bounced) and finite(spam) and finite(at))
            or min(sent, bounced, spam) < 0
        ):
            return []
        buckets = self._buckets.get(scope)
        if buckets is None:
            buckets = self._buckets[scope] = deque()
        if buckets and at < buckets[-1][0]:
            return []  # out of order (skew, replay): ignore
        start = at - max(0.0, span) if finite(span) else at
        if buckets and buckets[-1][0] == at:
            _, s0, a0, b0, p0 = buckets.pop()
            start, sent, bounced, spam = min(start, s0), sent + a0, bounced + b0, spam + p0
        elif buckets:
            start = max(start, buckets[-1][0])
        buckets.append((at, start, sent, bounced, spam))
        cutoff = at - self.settings.window_minutes * 60
        while buckets and buckets[0][0] <= cutoff:
            buckets.popleft()
        out: list[Finding] = []
        s = self.settings
        for metric, column, limits in (("bounce_rate", 3, s.bounce), ("spam_rate", 4, s.spam)):
            found = self._judge(scope, at, buckets, metric, column, limits)
            if found is not None:
                out.append(found)
        return out

    def _judge(
        self,
        scope: Scope,
        at: float,
        buckets: deque[tuple[float, float, float, float, float]],
        metric: str,
        column: int,
        limits: RatioLimits,
    ) -> Finding | None:
        s = self.settings
        usual = self._baselines.get((scope, metric))
        warning = max(limits.warning, (usual or 0.0) * s.baseline_warning)
        critical = max(limits.critical, (usual or 0.0) * s.baseline_critical)
        best = self._strongest(buckets, column, limits, warning, usual)
        if best is None:
            return None
        if best.value >= critical:
            severity, bound = Severity.CRITICAL, critical
        elif best.value >= warning:
            severity, bound = Severity.WARNING, warning
        else:
            return None
        rate = best.bad / best.total
        name = "bounce" if metric == "bounce_rate" else "spam"
        normal = f", usually {usual:.1%}" if usual is not None else ""
        why = (
            f"{name} rate {rate:.0%} over {_duration(best.seconds)} "
            f"({best.bad:.0f} of {best.total:.0f} delivery attempts{normal}; limit {bound:.0%})"
        )
        return Finding(
            self.kind + ":" + name, scope, metric, severity, rate, bound, why, at, action_for(scope)
        )

    def _strongest(
        self,
        buckets: deque[tuple[float, float, float, float, float]],
        column: int,
        limits: RatioLimits,
        warning: float,
        usual: float | None,
    ) -> _Judged | None:
        """The stretch ending now whose evidence puts the ratio highest (None: no stretch is unusual)."""
        s = self.settings
        null = max(usual or 0.0, warning / max(1.0, s.baseline_warning))
        total = bad = 0.0
        best: _Judged | None = None
        newest = buckets[-1][0]
        for i in range(len(buckets) - 1, -1, -1):
            _, start, attempts, *counts = buckets[i]
            total += attempts
            bad += counts[column - 3]
            n = max(total, bad)  # late bounces of earlier sends may outnumber this stretch's attempts
            if bad < s.min_failures:
                continue
            judged = wilson_low(bad, n, s.confidence_z)
            if i == 0 and total >= limits.min_volume:
                judged = max(judged, bad / n)  # the whole window, busy enough: at face value
            if judged < warning or (best is not None and judged <= best.value):
                continue
            if binomial_tail_bound(bad, n, null) <= s.significance:
                best = _Judged(judged, bad, n, newest - start)
        return best


def _duration(seconds: float) -> str:
    """``45 s`` or ``3 min``."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"

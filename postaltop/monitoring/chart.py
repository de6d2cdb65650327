"""What the TUI reads of the monitor: the chart's series with their baseline band, markers, transitions."""

from __future__ import annotations

import math

from postaltop.core.alerts import GLOBAL, AlertEvent, Scope, ScopeKind, Severity
from postaltop.core.baseline import Expectation
from postaltop.core.detect.burst import attempted_user
from postaltop.core.facts import AuthFailure
from postaltop.monitoring.series import SeriesView
from postaltop.monitoring.state import MonitorState


class ChartLayer(MonitorState):
    """The monitor's read side: series for the chart, the log panel's markers, an alert's history."""

    def _count_auth_failure(self, fact: AuthFailure) -> None:
        """Per-IP and per-credential AUTH failures per minute (the brute-force alerts' charts)."""
        minute = int(fact.ts // 60)
        self._side_set(Scope(ScopeKind.IP, fact.ip), "auth_failures", minute, 1.0, add=True)
        user = attempted_user(fact.detail or "")
        if user is not None:
            self._side_set(Scope(ScopeKind.CREDENTIAL, user), "auth_failures", minute, 1.0, add=True)

    def has_series(self, scope: Scope, metric: str) -> bool:
        """True when ``metric`` of ``scope`` has been recorded (a chart of it shows data)."""
        return (scope, metric) in self._series or (scope, metric) in self._side

    def transitions(self, key: str) -> list[AlertEvent]:
        """Transitions of alert ``key`` (fired, escalated, acknowledged, silenced, resolved), oldest first."""
        return list(self._transitions.get(key, ()))

    def marker_for(self, seq: int) -> Severity | None:
        """Severity of the alert a log line raised, if any (the log panel's inline marker)."""
        return self.marked.get(seq)

    def scopes(self) -> list[Scope]:
        """Scopes that have a ``sent`` series, global first."""
        found = sorted(
            {s for s, m in self._series if m == "sent"}, key=lambda s: (s.kind != ScopeKind.GLOBAL, str(s))
        )
        return found or [GLOBAL]

    def series(
        self,
        scope: Scope,
        metric: str,
        window: float,
        band_k: float = 3.0,
        max_points: int = 180,
        band: bool = True,
    ) -> SeriesView:
        """Per-minute values with the baseline's expected line and band, at most ``max_points`` points.

        Up to 24 h the values are per-minute rates (averaged over a few minutes when the window holds more
        than ``max_points`` minutes); beyond, hourly means. NaN marks periods without data.
        """
        base = 60 if window <= 86400 else 3600
        found = self._series.get((scope, metric)) or self._side.get((scope, metric))
        ring = None if found is None else (found.minutes if base == 60 else found.hours)
        # the newest complete period (the current minute is still being counted)
        end = int(self._now // base) - 1 if self._now else 0
        n = max(1, int(window // base))
        k = max(1, -(-n // max(1, max_points)))
        step = base * k
        first = end - n + 1
        times: list[float] = []
        values: list[float] = []
        for b in range(first, end + 1, k):
            times.append(float(b * base))
            if ring is None:
                values.append(math.nan)
            else:
                got = [v for i in range(b, min(b + k, end + 1)) if math.isfinite(v := ring.get(i))]
                values.append(sum(got) / len(got) if got else math.nan)
        expected, low, high, learning = self._band(scope, metric, times, step, band_k, band)
        start = times[0] if times else 0.0
        markers = [(t, sev) for t, sev in self._markers.get(scope, ()) if t >= start]
        return SeriesView(scope, metric, step, times, values, expected, low, high, learning, markers)

    def _band(
        self, scope: Scope, metric: str, times: list[float], step: int, band_k: float, band: bool
    ) -> tuple[list[float], list[float], list[float], bool]:
        """The baseline's expected line, low and high edges at ``times`` (NaN while learning or unasked)."""
        expected: list[float] = []
        low: list[float] = []
        high: list[float] = []
        learning = True
        cache: dict[int, Expectation] = {}
        for t in times:
            if not band:
                expected.append(math.nan)
                low.append(math.nan)
                high.append(math.nan)
                continue
            bucket = int(t // 900)
            exp = cache.get(bucket)
            if exp is None:
                exp = cache[bucket] = self.baselines.expect(scope, metric, t + step / 2)
            if exp.learning:
                expected.append(math.nan)
                low.append(math.nan)
                high.append(math.nan)
            else:
                learning = False
                lo, hi = exp.band(band_k)
                expected.append(exp.median)
                low.append(lo)
                high.append(hi)
        return expected, low, high, learning

"""The per-minute machinery: counts into pending minutes, closed minutes judged against the baselines."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import replace

from postaltop.core.alerts import GLOBAL, Finding, Scope, ScopeKind, Severity
from postaltop.core.baseline import Expectation
from postaltop.core.recent_baseline import recent_expectation
from postaltop.core.source_health import down_reason
from postaltop.monitoring.chart import ChartLayer
from postaltop.monitoring.series import MINUTES_KEPT, Series
from postaltop.monitoring.state import DOWN_STATES, RATE_METRICS


class MinuteLayer(ChartLayer):
    """Series per (scope, metric) per minute; a minute is judged once a later one has been seen."""

    def _add(self, scope: Scope, metric: str, minute: int, value: float) -> None:
        if not math.isfinite(value) or value < 0:
            return
        if self._current_minute >= 0 and minute < self._current_minute - 5:
            return  # far too late (skew, replay): dropped rather than rewriting judged minutes
        pending = self._pending.setdefault((scope, metric), {})
        pending[minute] = pending.get(minute, 0.0) + value

    def report(self, findings: list[Finding], ts: float) -> None:
        """Findings of detectors that live outside the monitor (``postaltop.signals``), observed at ``ts``."""
        self._advance(ts, [f for f in findings if not self._host_down(f.source)])

    def _advance(self, now: float, findings: list[Finding], peek: bool = False) -> None:
        if now > self._now + 7 * 86400 and self._now > 0:
            self._now = now  # a jump (clock change, replay): keep going, series rings handle it
        self._now = max(self._now, now)
        self._advanced_at = self.wall()
        minute = int(self._now // 60)
        if minute > self._current_minute:
            if self._current_minute >= 0:
                findings.extend(self._close_minutes(minute))
            self._current_minute = minute
        if peek:
            findings.extend(self._peek_current())
        if not self.config.enabled:
            findings = []  # detection off: series and the chart still work, nothing is raised
        self.alerts_manager.observe(findings, self._now)
        self.bursts.prune(self._now)
        self._persist_alert_state()

    def _close_minutes(self, current: int) -> list[Finding]:
        """Judge every pending minute before ``current``."""
        findings: list[Finding] = []
        closed: dict[Scope, dict[int, dict[str, float]]] = {}
        for key in list(self._pending):
            scope, metric = key
            pending = self._pending[key]
            for minute in sorted(m for m in pending if m < current):
                closed.setdefault(scope, {}).setdefault(minute, {})[metric] = pending.pop(minute)
            if not pending:
                del self._pending[key]
        # a series with no data in a minute while polls arrived counts zero traffic (a short gap only:
        # a long one is missing data, not silence)
        starts: dict[tuple[Scope, str], int] = {
            key: series.minutes.last + 1 for key, series in self._series.items() if series.minutes.last >= 0
        }
        for scope, minutes in closed.items():
            for minute, values in minutes.items():
                for metric in values:
                    key = (scope, metric)
                    starts[key] = min(starts.get(key, minute), minute)
        for (scope, metric), first in starts.items():
            if metric in RATE_METRICS:
                for minute in range(max(first, current - 3), current):
                    closed.setdefault(scope, {}).setdefault(minute, {}).setdefault(metric, 0.0)
        unknown = self._traffic_without_baseline(closed)
        for scope, minutes in closed.items():
            for minute, values in sorted(minutes.items()):
                extra = unknown.get(minute) if scope.kind is ScopeKind.GLOBAL else None
                findings.extend(self._judge_minute(scope, minute, values, extra))
        for scope, (minute, depth) in list(self._gauges.items()):
            if minute < current:
                self._store(scope, "queue_depth", minute, depth)
                found = self.queue.update(scope, depth, minute * 60.0 + 60)
                if found is not None:
                    findings.append(found)
                s = self.static.check(scope, "queue_depth", depth, minute * 60.0 + 60)
                if s is not None:
                    findings.append(s)
        if self._baseline_store is not None:
            self._persist_baselines()
        for f in findings:
            self._markers.setdefault(f.scope, deque(maxlen=500)).append((f.ts, f.severity))
        return findings

    def _cover(self, minute: int, seconds: float) -> None:
        """A poll whose window of ``seconds`` ended in ``minute`` was counted."""
        self._covered[minute] = self._covered.get(minute, 0.0) + seconds
        for old in [m for m in self._covered if m < minute - 2]:
            del self._covered[old]

    def _peek_current(self) -> list[Finding]:
        """Credentials' sending judged on the minute in progress (critical only: see ``ZScoreDetector.peek``).

        A leaked credential is the incident an automatic hold waits on; its step would otherwise be flagged
        only at the close of the minute that makes the EWMA critical.
        """
        minute = self._current_minute
        covered = min(self._covered.get(minute, 0.0), 60.0)
        out: list[Finding] = []
        for (scope, metric), pending in self._pending.items():
            value = pending.get(minute)
            if scope.kind is not ScopeKind.CREDENTIAL or metric != "sent" or value is None:
                continue
            expected = self.expected(scope, metric, minute * 60.0 + 60.0)
            found = self.zscore.peek(scope, metric, value, covered, expected, self._now)
            if found is not None and not self._critical_open(found.key):
                out.append(found)
        return out

    def _critical_open(self, key: str) -> bool:
        """Whether alert ``key`` is open and critical already (a peek adds nothing to it but a count)."""
        alert = self.alerts_manager.get(key)
        return alert is not None and alert.is_open and alert.severity is Severity.CRITICAL

    def _traffic_without_baseline(
        self, closed: dict[Scope, dict[int, dict[str, float]]]
    ) -> dict[int, dict[str, float]]:
        """Per minute and metric: traffic of servers whose own baseline is still learning.

        The global baseline is the sum of the servers that had history; a server with none (new, or its
        statistics unreadable) would otherwise look like a global surge. Its traffic is taken as expected
        in the global scope until its own baseline exists.
        """
        out: dict[int, dict[str, float]] = {}
        for scope, minutes in closed.items():
            if scope.kind is not ScopeKind.SERVER:
                continue
            for minute, values in minutes.items():
                for metric, value in values.items():
                    if metric not in RATE_METRICS or not value:
                        continue
                    if self.baselines.expect(scope, metric, minute * 60.0 + 60.0).learning:
                        per = out.setdefault(minute, {})
                        per[metric] = per.get(metric, 0.0) + value
        return out

    def _judge_minute(
        self, scope: Scope, minute: int, values: dict[str, float], unknown: dict[str, float] | None = None
    ) -> list[Finding]:
        ts = minute * 60.0 + 60.0
        out: list[Finding] = []
        for metric, value in values.items():
            if metric.startswith("_"):
                continue
            self._store(scope, metric, minute, value)
            expected = self.expected(scope, metric, ts)
            if unknown and metric in unknown and not expected.learning:
                expected = replace(expected, median=expected.median + unknown[metric])
            spike = self.zscore.update(scope, metric, value, expected, ts)
            trend = (
                self.ramp.update(scope, metric, value, expected, ts)
                if metric == "sent" and scope.kind in (ScopeKind.SERVER, ScopeKind.GLOBAL)
                else None
            )
            for found in (
                spike,
                trend if spike is None else None,  # a jump is a spike, not a rising trend
                self.static.check(scope, metric, value, ts),
            ):
                if found is not None:
                    out.append(found)
            if spike is not None or trend is not None:
                self._flag(scope, metric, minute)
        return out

    def _flag(self, scope: Scope, metric: str, minute: int) -> None:
        """An anomalous minute is learnt neither by the hour-of-week baseline nor the short-term one."""
        self.baselines.mark_anomalous(scope, metric, minute * 60.0)
        flagged = self._series[(scope, metric)].flagged
        flagged[minute] = None
        while len(flagged) > MINUTES_KEPT:
            del flagged[next(iter(flagged))]

    def _store(self, scope: Scope, metric: str, minute: int, value: float) -> None:
        series = self._series.get((scope, metric))
        if series is None:
            series = self._series[(scope, metric)] = Series()
        series.minutes.set(minute, value)
        hour = minute // 60
        h, total, n = series.hsum
        if hour != h:
            series.hsum = (hour, value, 1)
        else:
            series.hsum = (h, total + value, n + 1)
        series.hours.set(hour, series.hsum[1] / series.hsum[2])
        self.baselines.observe(scope, metric, minute * 60.0, value)

    def expected(self, scope: Scope, metric: str, ts: float) -> Expectation:
        """The hour-of-week expectation; while that is learning, for a scope whose history was read at
        connect, the hour-of-day one (same hour on other days); else the scope's own last hour."""
        exp = self.baselines.expect(scope, metric, ts)
        if not exp.learning:
            return exp
        if scope in self._profiled:
            daily = self.baselines.expect_daily(scope, metric, ts)
            if not daily.learning:
                return daily
        series = self._series.get((scope, metric))
        if series is None:
            return exp
        last = series.minutes.last
        recent = recent_expectation(series.minutes.get, last, last - MINUTES_KEPT, series.flagged)
        return exp if recent is None else recent

    def _senders(self, by_credential: Mapping[int, int]) -> dict[str, int]:
        return {
            self.credential_scope(c).display if c else "no credential": n for c, n in by_credential.items()
        }

    def _add_counts(
        self, scope: Scope, minute: int, outgoing: float, bounced: float, held: float, spam: float,
        sent: float, hard_fail: float, at: float, span: float,
    ) -> list[Finding]:  # fmt: skip
        for metric, value in (("sent", outgoing), ("bounced", bounced), ("held", held), ("spam", spam)):
            self._add(scope, metric, minute, value)
            self._add(GLOBAL, metric, minute, value)
        # ratios are judged at every poll, on the counts up to ``at`` (the current minute's too)
        total = self._global_ratio.setdefault(at, [0.0, 0.0, 0.0, span])
        total[0] += sent + hard_fail
        total[1] += hard_fail + bounced
        total[2] += spam
        return self.ratios.update(scope, at, sent + hard_fail, hard_fail + bounced, spam, span)

    def _judge_global_ratio(self) -> list[Finding]:
        """The installation's ratios, once per poll (or replayed minute) over every server's counts."""
        out: list[Finding] = []
        for at, (attempts, failed, spam, span) in sorted(self._global_ratio.items()):
            out += self.ratios.update(GLOBAL, at, attempts, failed, spam, span)
        self._global_ratio.clear()
        return out

    def _host_down(self, host: str) -> bool:
        engine = self._engine
        hosts = getattr(engine, "hosts", None) if engine is not None else None
        status = hosts.get(host) if isinstance(hosts, dict) else None
        state = str(getattr(status, "state", ""))
        down = state.lower().startswith(DOWN_STATES) or down_reason(state) is not None
        if down != self.alerts_manager.is_down(host):
            self.alerts_manager.set_source_down(host, down, self._now)
        return down

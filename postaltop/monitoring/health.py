"""Source health: the engine's host states turned into source-down alerts, inhibitions and up/down charts."""

from __future__ import annotations

import time

from postaltop.core.alerts import DB_SOURCE, Finding, Scope, ScopeKind
from postaltop.core.source_health import SOURCE_DOWN, UP_METRIC, down_reason, health_finding
from postaltop.monitoring.minutes import MinuteLayer


class HealthLayer(MinuteLayer):
    """Which sources are down, since when, and the alerts that say so."""

    def source_clock(self) -> float:
        """Data time now: the newest data time, plus the real time since it last moved while a source
        is down.

        Nothing may arrive while sources are down, so the real time elapsed carries the lifecycle on (a
        simulation or a replay keeps its own time base). Before any data, the engine's clock.
        """
        if self._now <= 0:
            clock = getattr(self._engine, "clock", None)
            return float(clock()) if callable(clock) else time.time()
        if not self.down_sources:
            return self._now
        return self._now + max(0.0, self.wall() - self._advanced_at)

    def check_sources(self, now: float | None = None) -> None:
        """Turn the engine's host states into source-health alerts and inhibitions.

        A source whose state says it is down (see :func:`~postaltop.core.source_health.down_reason`)
        inhibits its own alerts at once and raises a ``source_down`` alert (firing after
        :data:`SOURCE_DOWN_GRACE` seconds); when it is back the alert resolves at once.
        """
        engine = self._engine
        hosts = getattr(engine, "hosts", None) if engine is not None else None
        if not isinstance(hosts, dict):
            return
        ts = self.source_clock() if now is None else now
        findings: list[Finding] = []
        changed = False
        for name, status in list(hosts.items()):
            state = str(getattr(status, "state", ""))
            reason = down_reason(state)
            self._chart_up(name, ts, reason is None)
            if reason is None:
                self._down_since.pop(name, None)
                if self.down_sources.pop(name, None) is not None:
                    changed = True
                    self.alerts_manager.resolve(f"{SOURCE_DOWN}|host:{name}", ts)
                if name != DB_SOURCE and self.alerts_manager.is_down(name):
                    self.alerts_manager.set_source_down(name, False, ts)
                continue
            self.down_sources[name] = reason
            self._down_since.setdefault(name, ts)
            if not self.alerts_manager.is_down(name):
                self.alerts_manager.set_source_down(name, True, ts)
            finding = health_finding(name, state, reason, ts)
            current = self.alerts_manager.get(finding.key)
            seen = (int(ts // 60), finding.why)
            if current is None or not current.is_open or current.state.value == "pending":
                findings.append(finding)  # new, or waiting out its grace
            elif self._health_seen.get(name) != seen:
                findings.append(finding)  # once a minute (or when the reason changes): kept fresh
            self._health_seen[name] = seen
        for gone in [n for n in self.down_sources if n not in hosts]:
            del self.down_sources[gone]
            self._down_since.pop(gone, None)
            changed = True
            self.alerts_manager.resolve(f"{SOURCE_DOWN}|host:{gone}", ts)
        if findings or changed:
            self.alerts_manager.observe(findings, ts)

    def _chart_up(self, name: str, ts: float, up: bool) -> None:
        """Record 1 (up) or 0 (down) for the source's minute; a minute with any down time stays 0."""
        minute, value = int(ts // 60), 1.0 if up else 0.0
        last = self._up_written.get(name)
        if last is not None and last[0] == minute and last[1] <= value:
            return
        self._up_written[name] = (minute, value)
        self._side_set(Scope(ScopeKind.HOST, name), UP_METRIC, minute, value)

    def down_since(self, source: str) -> float | None:
        """When ``source`` was first seen down in its current outage (None while up)."""
        return self._down_since.get(source)

    def tick(self) -> None:
        """Periodic housekeeping (the TUI's timer, ``watch``'s loop): source health, lifecycle timers."""
        self.check_sources()

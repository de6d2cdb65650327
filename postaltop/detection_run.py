"""Run a simulated scenario headless through the real engine, :class:`Monitor` and alert manager.

Shared by the detection tests and ``bench/detect.py``: the fleet's log lines go through
:meth:`Engine.feed` (so AUTH failures become facts for the burst detector exactly as in the TUI) and
:class:`~postaltop.core.sim.metrics.SimMetrics` polls stand in for the database source. For long runs
(the normal week) ``lines="auth"`` feeds only the lines that can raise a fact the detectors use
(SMTP authentication failures) and the poll interval can be a minute: the detectors and the alert
manager are the same, only the log panel's data is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from postaltop.core.alerts import AlertEvent, ScopeKind, Severity, Transition
from postaltop.core.sim import Fleet
from postaltop.core.sim.fleet import SimLine
from postaltop.core.sim.metrics import SimMetrics
from postaltop.core.sim.scenarios import Param
from postaltop.engine import Engine
from postaltop.monitoring import Monitor
from postaltop.runtime.detection import build_monitor
from postaltop.sources.demo import group_lines
from postaltop.sources.demo_metrics import attach_simulated_database

AUTH_MARK = b"Authentication failure"
"""The text of the only simulated line that raises a fact the detectors read (``AuthFailure``)."""

AUTH_MARK_TEXT = AUTH_MARK.decode()
LineMode = Literal["all", "auth"]


@dataclass
class Run:
    """What one headless scenario run produced."""

    monitor: Monitor
    fleet: Fleet
    events: list[AlertEvent] = field(default_factory=list)
    engine: Engine | None = None
    lines: int = 0
    """Log lines fed to the engine."""

    def fired(self) -> list[AlertEvent]:
        """Alert transitions that raised or escalated an alert, in order."""
        return [e for e in self.events if e.transition in (Transition.FIRED, Transition.ESCALATED)]

    def first(
        self,
        kind: str | None = None,
        scope_kind: ScopeKind | None = None,
        severity: Severity | None = None,
        after: float = 0.0,
    ) -> float | None:
        """Minutes after the fleet's start at which a matching alert first fired (None: never)."""
        for e in self.fired():
            if kind is not None and e.alert.kind != kind:
                continue
            if scope_kind is not None and e.alert.scope.kind is not scope_kind:
                continue
            if severity is not None and e.alert.severity is not severity:
                continue
            at = (e.at - self.fleet.start) / 60
            if at >= after:
                return at
        return None


def _selected(lines: Iterable[SimLine], mode: LineMode) -> list[SimLine]:
    if mode == "all":
        return list(lines)
    return [ln for ln in lines if ln.component == "smtp" and AUTH_MARK in ln.line]


def _emit_auth_only(fleet: Fleet) -> None:
    """Make ``fleet`` render only AUTH-failure lines (formatting every line is a third of a long run)."""
    emit = fleet.emit

    def auth_only(ts: float, host: str, component: str, text: str) -> None:
        if AUTH_MARK_TEXT in text:
            emit(ts, host, component, text)

    fleet.emit = auth_only  # type: ignore[method-assign]


def run_scenario(
    scenario: str,
    minutes: float,
    *,
    volume: float = 0.3,
    seed: int = 3,
    poll: float = 5.0,
    step: float = 5.0,
    lines: LineMode = "all",
    retained_lines: int = 200_000,
    scenario_params: Mapping[str, Param] | None = None,
) -> Run:
    """Advance ``scenario`` for ``minutes`` simulated minutes, polling metrics every ``poll`` seconds.

    At the first poll the monitor asks the simulated database for the state at connect (four weeks of
    statistics, the credentials' history), through the same interface a real database answers.
    """
    fleet = Fleet(seed=seed, scenario=scenario, volume=volume, scenario_params=scenario_params)
    if lines == "auth":
        _emit_auth_only(fleet)
    engine = Engine(retained_lines=retained_lines, clock=lambda: fleet.position)
    monitor = build_monitor(None)
    monitor.attach(engine)
    metrics = SimMetrics(fleet)
    attach_simulated_database(monitor, fleet)  # asked at the first poll, as a real database is
    run = Run(monitor, fleet, engine=engine)
    monitor.on_alert(run.events.append)
    end = fleet.start + minutes * 60
    t = fleet.start
    next_poll = t + poll
    while t < end:
        t = min(end, t + step)
        for host, component, group in group_lines(_selected(fleet.advance(t), lines)):
            run.lines += len(group)
            engine.feed(host, component, group, received_at=t)
        if t >= next_poll:
            engine.publish_metrics(metrics.poll(t))
            next_poll += poll
    return run

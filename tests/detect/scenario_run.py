"""Run a simulated scenario through the real engine + Monitor without Textual (shared by tests and bench)."""

from __future__ import annotations

from dataclasses import dataclass, field

from postaltop.core.alerts import AlertEvent, Transition
from postaltop.core.sim import Fleet
from postaltop.core.sim.metrics import SimMetrics, synthetic_history
from postaltop.engine import Engine
from postaltop.monitoring import Monitor, monitor_for
from postaltop.sources.demo import group_lines


@dataclass
class Run:
    monitor: Monitor
    fleet: Fleet
    events: list[AlertEvent] = field(default_factory=list)
    engine: Engine | None = None

    def fired(self) -> list[AlertEvent]:
        return [e for e in self.events if e.transition in (Transition.FIRED, Transition.ESCALATED)]


def run_scenario(
    scenario: str, minutes: float, *, volume: float = 0.3, seed: int = 3, poll: float = 5.0, step: float = 5.0
) -> Run:
    """Advance ``scenario`` for ``minutes`` simulated minutes, polling metrics every ``poll`` seconds."""
    fleet = Fleet(seed=seed, scenario=scenario, volume=volume)
    engine = Engine(retained_lines=200_000, clock=lambda: fleet.position)
    monitor = monitor_for(engine)
    metrics = SimMetrics(fleet)
    monitor.bootstrap(
        synthetic_history(fleet, fleet.start, weeks=4), metrics.poll(fleet.start).servers, now=fleet.start
    )
    run = Run(monitor, fleet)
    monitor.on_alert(run.events.append)
    end = fleet.start + minutes * 60
    t = fleet.start
    next_poll = t + poll
    while t < end:
        t = min(end, t + step)
        for host, component, lines in group_lines(fleet.advance(t)):
            engine.feed(host, component, lines, received_at=t)
        if t >= next_poll:
            engine.publish_metrics(metrics.poll(t))
            next_poll += poll
    run.engine = engine
    return run

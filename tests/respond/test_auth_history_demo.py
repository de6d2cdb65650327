"""The demo's hosts answer the authentication read-back at connect like a real host's ``docker logs --since``:
with it the client-network detector flags the leaked credential's spammer at once; without it, it learns."""

from __future__ import annotations

from postaltop.core.alerts import ScopeKind
from postaltop.core.sim import Fleet
from postaltop.core.sim.metrics import SimMetrics
from postaltop.detection_run import group_lines
from postaltop.engine import Engine
from postaltop.monitoring import Monitor
from postaltop.runtime import build_monitor
from postaltop.sources.auth_history import AUTH_PATTERNS, auth_facts, demo_auth_lines
from postaltop.sources.demo_metrics import attach_simulated_database

ONSET = 600.0
"""The compromised-credential scenario's burst starts 10 simulated minutes in (the demo's backfill)."""


def run(minutes: float, *, history: bool, history_at: float = 0.0) -> tuple[Monitor, Fleet, int]:
    """``minutes`` of the scenario; the hour read back is learnt ``history_at`` minutes in (0: before)."""
    fleet = Fleet(seed=1, scenario="compromised-credential", volume=0.3)
    engine = Engine(retained_lines=200_000, clock=lambda: fleet.position)
    monitor = build_monitor(None)
    monitor.attach(engine)
    attach_simulated_database(monitor, fleet)
    learnt = 0
    if history:
        groups = demo_auth_lines(1, fleet.start, 3600.0)
        assert all(
            any(p.encode() in line for p in AUTH_PATTERNS) for _h, _c, lines in groups for line in lines
        )
        learnt = monitor.signals.learn_history(auth_facts(groups))
    metrics = SimMetrics(fleet)
    t = fleet.start
    while t < fleet.start + minutes * 60:
        t += 5.0
        for host, component, group in group_lines(fleet.advance(t)):
            engine.feed(host, component, group, received_at=t)
        engine.publish_metrics(metrics.poll(t))
    return monitor, fleet, learnt


def client_alerts(monitor: Monitor) -> list:
    return [a for a in monitor.alerts if a.kind == "client_network"]


def test_with_the_hour_read_back_the_spammers_network_is_flagged_within_a_minute_of_the_burst() -> None:
    monitor, fleet, learnt = run(12, history=True)
    assert learnt > 100, "the history holds the customers' sessions"
    [alert] = client_alerts(monitor)  # only the spammer's network: every customer network is known
    assert (alert.scope.kind, alert.scope.key) == (ScopeKind.SERVER, "acme/transactional")
    assert alert.first_seen - (fleet.start + ONSET) <= 60.0
    assert "authenticated from 192.0.2.166 (192.0.2.0/24)" in alert.why  # the scenario's spammer


def test_without_it_the_detector_only_learns_for_its_first_hour() -> None:
    monitor, _fleet, _ = run(12, history=False)
    assert client_alerts(monitor) == []


def test_history_that_arrives_after_the_burst_started_still_flags_it_at_the_next_session() -> None:
    """The read-back takes a while; live sessions of the spammer judged meanwhile were only learnt."""
    monitor, fleet, learnt = run(13, history=True, history_at=11)
    assert learnt > 100
    [alert] = client_alerts(monitor)
    assert alert.scope.key == "acme/transactional" and "192.0.2.166" in alert.why
    assert alert.first_seen - (fleet.start + 11 * 60) <= 60.0

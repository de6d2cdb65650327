"""Alert lifecycle: pending, firing, dedup, escalation, ack, silence, inhibition, resolve."""

from __future__ import annotations

from postaltop.core.alerts import (
    AlertEvent,
    AlertManager,
    AlertState,
    Finding,
    LifecycleSettings,
    Scope,
    ScopeKind,
    Severity,
    Transition,
)

SRV = Scope(ScopeKind.SERVER, "acme/app")


def f(ts: float, sev: Severity = Severity.WARNING, source: str = "db", kind: str = "zscore") -> Finding:
    return Finding(
        kind, SRV, "sent", sev, 100.0, 10.0, "sent 100/min vs 10/min", ts, source=source, seqs=(int(ts),)
    )


def manager() -> tuple[AlertManager, list[AlertEvent]]:
    m = AlertManager(LifecycleSettings(pending_for=60, critical_pending_for=0, resolve_after=300))
    events: list[AlertEvent] = []
    m.on_event(events.append)
    return m, events


def test_pending_then_fires_once_with_count() -> None:
    m, events = manager()
    m.observe([f(0)], 0)
    assert m.alerts[0].state is AlertState.PENDING and events == []
    m.observe([f(30)], 30)
    m.observe([f(60)], 60)
    assert [e.transition for e in events] == [Transition.FIRED]
    m.observe([f(120)], 120)
    (alert,) = m.alerts
    assert alert.state is AlertState.FIRING and alert.count == 4 and alert.seqs == (0, 30, 60, 120)
    assert events[-1].transition is Transition.UPDATED


def test_short_blip_never_fires() -> None:
    m, events = manager()
    m.observe([f(0)], 0)
    m.tick(400)
    assert m.alerts == [] and events == []


def test_hysteresis_then_resolve() -> None:
    m, events = manager()
    m.observe([f(0, Severity.CRITICAL)], 0)
    assert events[0].transition is Transition.FIRED
    m.tick(299)
    assert m.alerts[0].state is AlertState.FIRING
    m.tick(300)
    assert m.alerts[0].state is AlertState.RESOLVED and events[-1].transition is Transition.RESOLVED


def test_ack_cleared_when_severity_rises() -> None:
    m, events = manager()
    m.observe([f(0)], 0)
    m.observe([f(60)], 60)
    key = m.alerts[0].key
    assert m.acknowledge(key, "ops", "looking", 61) is not None
    assert m.alerts[0].acknowledged and not m.alerts[0].notifiable
    m.observe([f(90, Severity.CRITICAL)], 90)
    alert = m.alerts[0]
    assert events[-1].transition is Transition.ESCALATED and alert.ack is None and alert.notifiable


def test_silence_matches_and_expires() -> None:
    m, events = manager()
    m.observe([f(0, Severity.CRITICAL)], 0)
    m.silence("server:acme/*", 600, "ops", "maintenance", 10)
    assert m.alerts[0].silenced and events[-1].transition is Transition.SILENCED
    m.observe([f(500, Severity.CRITICAL)], 500)
    assert m.alerts[0].silenced
    m.observe([f(700, Severity.CRITICAL)], 700)
    assert not m.alerts[0].silenced and m.silences == []


def test_inhibition_ignores_findings_and_freezes_alerts() -> None:
    m, _ = manager()
    m.observe([f(0, Severity.CRITICAL, source="mx1")], 0)
    m.set_source_down("mx1", True, 10)
    m.observe([f(20, Severity.CRITICAL, source="mx1", kind="static")], 20)
    assert [a.kind for a in m.alerts] == ["zscore"]
    m.tick(10_000)  # a long outage does not resolve it
    assert m.alerts[0].state is AlertState.FIRING and m.alerts[0].inhibited
    m.set_source_down("mx1", False, 10_000)
    m.tick(10_100)
    assert m.alerts[0].state is AlertState.FIRING
    m.tick(10_300)
    assert m.alerts[0].state is AlertState.RESOLVED


def test_restored_ack_applies_to_reopened_alert() -> None:
    m, _ = manager()
    m.observe([f(0, Severity.CRITICAL)], 0)
    ack = m.acknowledge(m.alerts[0].key, "ops", "known", 1)
    assert ack is not None
    m2 = AlertManager(acks=m.acks)
    m2.observe([f(2, Severity.CRITICAL)], 2)
    assert m2.alerts[0].ack is not None and m2.alerts[0].ack.comment == "known"

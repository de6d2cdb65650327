"""Source health as alerts: a down host or database is an alert with its reason, holds that source's
rate alerts, and resolves when the source is back; the chart of every alert kind has a series."""

from __future__ import annotations

import pytest

from postaltop.core.alerts import AlertState, Finding, Scope, ScopeKind, Severity
from postaltop.core.facts import AuthFailure
from postaltop.core.source_health import SOURCE_DOWN, down_reason, short_reason
from postaltop.engine import Engine
from postaltop.monitoring import SOURCE_DOWN_GRACE, Monitor

T0 = 1_777_366_800.0


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("reconnecting (attempt 3, next in 4s): connection refused", "connection refused"),
        ("reconnecting (attempt 1, next in 1s)", "unreachable"),
        ("auth failed", "authentication refused"),
        ("HOST KEY CHANGED SHA256:abc (refused)", "host key changed (refused)"),
        ("host key unknown SHA256:abc (postaltop hosts trust mx1)", "host key not trusted"),
        ("error: unreachable 127.0.0.1:3306 (retrying in 5 s)", "unreachable 127.0.0.1:3306"),
        ("error: (1045, \"Access denied for user 'postal'\")", "access denied"),
        ("no log source", "no Postal logs found"),
    ],
)
def test_down_states_give_a_reason(state: str, reason: str) -> None:
    assert down_reason(state) == reason


@pytest.mark.parametrize(
    "state", ["connected ·3", "connected · 5 servers", "connecting", "demo", "live", "replay", "waiting"]
)
def test_up_and_starting_states_are_not_down(state: str) -> None:
    assert down_reason(state) is None


def test_short_reason_of_socket_errors() -> None:
    assert short_reason("[Errno 111] Connect call failed ('127.0.0.1', 2222)") == "connection refused"
    assert short_reason("[Errno -2] Name or service not known") == "name not resolved"
    assert short_reason("x" * 80).endswith("…") and len(short_reason("x" * 80)) == 40


def _monitor() -> tuple[Engine, Monitor]:
    engine = Engine(clock=lambda: T0)
    monitor = Monitor()
    monitor.attach(engine)
    return engine, monitor


def _burst(ip: str, host: str, ts: float, n: int) -> list[Finding]:
    scope = Scope(ScopeKind.IP, ip)
    why = f"{n} SMTP AUTH failures in 60s from {ip}"
    return [Finding("auth_burst", scope, "auth_failures", Severity.CRITICAL, n, 10.0, why, ts, source=host)]


def test_down_host_fires_after_grace_holds_its_alerts_and_resolves_when_back() -> None:
    engine, monitor = _monitor()
    engine.set_host("mx1", "connected ·3")
    engine.set_host("mx2", "connected ·3")
    monitor.alerts_manager.observe(_burst("192.0.2.9", "mx1", T0, 40), T0)
    burst_key = "auth_burst|ip:192.0.2.9"
    assert monitor.alerts_manager.get(burst_key).state is AlertState.FIRING  # type: ignore[union-attr]

    engine.set_host("mx1", "reconnecting (attempt 2, next in 3s): connection refused")
    monitor.check_sources(T0 + 1)
    assert monitor.down_sources == {"mx1": "connection refused"}
    assert monitor.alerts_manager.get(burst_key).inhibited  # type: ignore[union-attr]
    assert [a.key for a in monitor.alerts if a.kind == SOURCE_DOWN] == []  # pending during the grace
    monitor.check_sources(T0 + 1 + SOURCE_DOWN_GRACE)
    down = [a for a in monitor.alerts if a.kind == SOURCE_DOWN]
    assert len(down) == 1 and down[0].state is AlertState.FIRING and down[0].severity is Severity.CRITICAL
    assert down[0].scope == Scope(ScopeKind.HOST, "mx1") and "connection refused" in down[0].why
    assert not down[0].inhibited  # the alert about the host is not muted by the host being down
    # long outage: the rate alert is held, not resolved, however long it lasts
    monitor.check_sources(T0 + 3600)
    assert monitor.alerts_manager.get(burst_key).state is AlertState.FIRING  # type: ignore[union-attr]

    engine.set_host("mx1", "connected ·3")
    monitor.check_sources(T0 + 3601)
    back = monitor.alerts_manager.get(down[0].key)
    assert back is not None and back.state is AlertState.RESOLVED and monitor.down_sources == {}
    assert not monitor.alerts_manager.get(burst_key).inhibited  # type: ignore[union-attr]
    kinds = [e.transition.value for e in monitor.transitions(down[0].key)]
    assert kinds == ["fired", "resolved"]


def test_a_quick_reconnect_raises_nothing() -> None:
    engine, monitor = _monitor()
    engine.set_host("mx1", "reconnecting (attempt 1, next in 1s): connection lost")
    monitor.check_sources(T0)
    engine.set_host("mx1", "connected ·3")
    monitor.check_sources(T0 + 2)
    assert monitor.alerts_manager.alerts == [] and monitor.down_sources == {}


def test_database_down_is_an_alert_too() -> None:
    engine, monitor = _monitor()
    engine.set_host("db", "error: unreachable 127.0.0.1:3306 (retrying in 5 s)")
    monitor.check_sources(T0)
    monitor.check_sources(T0 + SOURCE_DOWN_GRACE + 1)
    (alert,) = monitor.alerts
    assert alert.key == "source_down|host:db" and alert.why.startswith("database down: unreachable")


def test_source_clock_moves_on_while_a_source_is_down_and_nothing_arrives() -> None:
    engine, monitor = _monitor()
    wall = [1000.0]
    monitor.wall = lambda: wall[0]
    assert monitor.source_clock() == T0  # no data yet: the engine's clock
    monitor._advance(T0 + 100, [])
    wall[0] += 30
    assert monitor.source_clock() == T0 + 100  # every source up: data time is the time
    engine.set_host("mx1", "reconnecting (attempt 4, next in 8s): timed out")
    monitor.check_sources()
    assert monitor.down_sources == {"mx1": "timed out"} and monitor.source_clock() == T0 + 130
    wall[0] += SOURCE_DOWN_GRACE
    monitor.tick()  # nothing arrives, yet the outage is raised on time
    assert [a.key for a in monitor.alerts] == ["source_down|host:mx1"]


def test_auth_failures_per_ip_and_per_credential_have_series() -> None:
    _engine, monitor = _monitor()
    for i in range(12):
        fact = AuthFailure(
            ts=T0 + i, seq=i, host="mx1", ip="198.51.100.7", detail="no server found matching acme/app"
        )
        monitor.bursts.feed(fact)
        monitor._count_auth_failure(fact)
    monitor._now = T0 + 120
    ip = monitor.series(Scope(ScopeKind.IP, "198.51.100.7"), "auth_failures", 900)
    cred = monitor.series(Scope(ScopeKind.CREDENTIAL, "acme/app"), "auth_failures", 900)
    assert sum(v for v in ip.values if v == v) == 12 and sum(v for v in cred.values if v == v) == 12
    assert monitor.has_series(Scope(ScopeKind.IP, "198.51.100.7"), "auth_failures")

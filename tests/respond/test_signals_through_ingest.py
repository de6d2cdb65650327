"""Client-network novelty end to end: Postal's SMTP log lines through the engine's ingest into alerts."""

from __future__ import annotations

import datetime as dt

from postaltop.core.alerts import ScopeKind, Severity
from postaltop.engine import Engine
from postaltop.monitoring import Monitor

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def stamp(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S +0000")


def session(at: dt.datetime, trace: str, ip: str, server: str = "acme/transactional") -> list[bytes]:
    """One authenticated SMTP connection as Postal v3 writes it (normal mode)."""
    t = stamp(at)
    tags = f"trace_id={trace} component=smtp-server"
    return [
        f"{t} DEBUG  Client identified as {ip} {tags}".encode(),
        f"{t} DEBUG  \x1b[32m<= AUTH PLAIN [redacted]\x1b[0m {tags}".encode(),
        f"{t} DEBUG  \x1b[34m=> 235 Granted for {server}\x1b[0m {tags}".encode(),
        f"{t} DEBUG  Added external address 'jane@example.net' {tags}".encode(),
    ]


def test_a_session_from_a_new_network_raises_an_alert_within_a_minute_and_a_known_one_does_not() -> None:
    engine = Engine(retained_lines=100_000, refresh_hz=15)
    monitor = Monitor()
    monitor.attach(engine)
    lines: list[bytes] = []
    for minute in range(0, 150, 2):  # 2.5 hours of the customer's app servers
        at = T0 + dt.timedelta(minutes=minute)
        lines += session(at, f"K{minute:07d}", "203.0.113.10")
        lines += session(at, f"L{minute:07d}", "2001:db8:77::5")
    engine.feed("mx1", "smtp", lines)
    assert not [a for a in monitor.alerts if a.kind == "client_network"]

    attack = T0 + dt.timedelta(minutes=151)
    engine.feed("mx1", "smtp", session(attack, "ZZZZZZZZ", "192.0.2.166"))
    found = [a for a in monitor.alerts if a.kind == "client_network"]  # fired at once, not pending
    assert [(a.scope.kind, a.scope.key) for a in found] == [(ScopeKind.SERVER, "acme/transactional")]
    assert found[0].severity is Severity.WARNING
    assert found[0].fired_at is not None and found[0].fired_at - attack.timestamp() < 60
    assert "192.0.2.0/24" in found[0].why

    known = T0 + dt.timedelta(minutes=152)
    engine.feed("mx1", "smtp", session(known, "KNOWN001", "203.0.113.99"))
    assert len([a for a in monitor.alerts_manager.alerts if a.kind == "client_network"]) == 1
    assert monitor.signals.join_rate == 1.0


def test_grants_whose_client_line_was_not_streamed_are_counted_in_the_join_rate() -> None:
    engine = Engine(retained_lines=10_000, refresh_hz=15)
    monitor = Monitor()
    monitor.attach(engine)
    whole = session(T0, "AAAAAAAA", "203.0.113.10")
    cut = session(T0, "BBBBBBBB", "203.0.113.11")[1:]  # the connection began before the stream
    engine.feed("mx1", "smtp", whole + cut)
    assert monitor.signals.join_rate == 0.5

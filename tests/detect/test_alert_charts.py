"""Every alert the demo scenarios raise has a series to chart (the alert detail draws it)."""

from __future__ import annotations

import pytest

from postaltop.detection_run import run_scenario
from postaltop.engine import Engine

SCENARIOS = [
    ("brute-force", 14.0, "all"),
    ("compromised-credential", 14.0, "all"),
    ("bounce-storm", 25.0, "all"),
    ("slow-ramp", 240.0, "auth"),
]


@pytest.mark.parametrize(("scenario", "minutes", "lines"), SCENARIOS, ids=[s for s, _, _ in SCENARIOS])
def test_every_raised_alert_has_a_chart(scenario: str, minutes: float, lines: str) -> None:
    run = run_scenario(scenario, minutes, lines=lines, poll=60.0 if lines == "auth" else 5.0)  # type: ignore[arg-type]
    raised = {e.alert.key: e.alert for e in run.fired()}
    assert raised, f"{scenario} raised nothing"
    missing = [key for key, a in raised.items() if not run.monitor.has_series(a.scope, a.metric)]
    assert not missing, missing
    for alert in raised.values():
        view = run.monitor.series(alert.scope, alert.metric, 86400)
        assert any(v == v for v in view.values), alert.key  # some data in the last day, not all NaN


def test_brute_force_charts_per_ip_and_per_credential() -> None:
    run = run_scenario("brute-force", 14)
    kinds = {a.scope.kind.value for a in (e.alert for e in run.fired()) if a.kind == "auth_burst"}
    assert "ip" in kinds
    for alert in (e.alert for e in run.fired() if e.alert.kind == "auth_burst"):
        view = run.monitor.series(alert.scope, "auth_failures", 3600)
        assert max(v for v in view.values if v == v) >= alert.expected  # type: ignore[operator]


def test_backlog_lines_do_not_count_in_the_host_rate() -> None:
    now = [1_777_366_800.0]
    engine = Engine(clock=lambda: now[0])
    old = [f"2026-04-28T08:{m:02d}:00.000Z smtp INFO backlog line {m}".encode() for m in range(50)]
    engine.feed("mx1", "smtp", old * 60)  # 3,000 lines logged up to an hour ago, read at connect
    assert engine.hosts["mx1"].lines == 3000 and engine.host_rates()["mx1"] == 0.0
    fresh = [b"2026-04-28T08:59:59.000Z smtp INFO new line"] * 50
    engine.feed("mx1", "smtp", fresh)
    assert engine.host_rates()["mx1"] == 10.0  # 50 new lines over the 5 s window

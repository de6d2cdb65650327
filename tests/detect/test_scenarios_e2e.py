"""Every demo scenario raises its alert through the real engine + Monitor (no Textual), normal raises none."""

from __future__ import annotations

import pytest

from postaltop.core.alerts import ScopeKind, Severity
from tests.detect.scenario_run import Run, run_scenario


def first(run: Run, kind: str, scope_kind: ScopeKind, severity: Severity | None = None) -> float | None:
    """Minutes after the fleet's start at which an alert of ``kind`` on a ``scope_kind`` scope fired."""
    for e in run.fired():
        matches = e.alert.kind == kind and e.alert.scope.kind is scope_kind
        if matches and (severity is None or e.alert.severity is severity):
            return (e.at - run.fleet.start) / 60
    return None


def test_normal_raises_nothing() -> None:
    run = run_scenario("normal", 120)
    assert run.fired() == []


def test_compromised_credential_critical_within_two_minutes() -> None:
    run = run_scenario("compromised-credential", 15)
    at = first(run, "zscore", ScopeKind.CREDENTIAL, Severity.CRITICAL)
    assert at is not None and at - 10 <= 2
    alert = next(a for a in run.monitor.alerts if a.scope.kind is ScopeKind.CREDENTIAL)
    assert alert.scope.label == "main smtp" and alert.action is not None and alert.action.key == "x"


def test_brute_force_within_one_minute() -> None:
    run = run_scenario("brute-force", 8)
    at = first(run, "auth_burst", ScopeKind.IP)
    assert at is not None and at - 5 <= 1
    assert run.monitor.marked  # lines that raised it are marked for the log panel


def test_bounce_storm_within_five_minutes() -> None:
    run = run_scenario("bounce-storm", 18)
    at = first(run, "ratio:bounce", ScopeKind.SERVER)
    assert at is not None and at - 10 <= 5


@pytest.mark.slow
def test_slow_ramp_within_an_hour() -> None:
    run = run_scenario("slow-ramp", 62)
    at = first(run, "ramp", ScopeKind.SERVER)
    assert at is not None and at <= 60
    assert [e.alert.scope.key for e in run.fired()] == ["globex/app"]

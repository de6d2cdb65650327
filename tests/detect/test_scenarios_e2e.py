"""Every demo scenario raises its alert through the real engine + Monitor (no Textual), normal raises none."""

from __future__ import annotations

import pytest

from postaltop.core.alerts import ScopeKind, Severity, Transition
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
    assert (
        alert.scope.label == "main smtp on acme/transactional"
        and alert.action is not None
        and alert.action.key == "x"
    )


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


def test_compromised_credential_raises_novelty_on_the_credential() -> None:
    run = run_scenario("compromised-credential", 13, scenario_params={"new_domains": 300.0})
    at = first(run, "novelty", ScopeKind.CREDENTIAL, Severity.CRITICAL)
    assert at is not None and 10 <= at <= 12
    alert = next(a for a in run.monitor.alerts if a.kind == "novelty")
    assert alert.scope.label == "main smtp on acme/transactional" and "new recipient domains" in alert.why


def test_sim_credential_domains_add_up_to_the_credential_counts() -> None:
    from postaltop.core.sim import Fleet
    from postaltop.core.sim.metrics import SimMetrics

    fleet = Fleet(
        seed=3, scenario="compromised-credential", volume=0.3, scenario_params={"new_domains": 300.0}
    )
    metrics = SimMetrics(fleet)
    totals: dict[int, int] = {}
    per_cred: dict[int, int] = {}
    domains: set[str] = set()
    for step in range(1, 14 * 6):
        t = fleet.start + step * 10  # short windows: below the per-credential cap of reported domains
        fleet.advance(t)
        result = metrics.poll(t)
        for d in result.credential_domains:
            totals[d.credential_id] = totals.get(d.credential_id, 0) + d.count
            domains.add(d.domain)
        for c in result.credentials:
            per_cred[c.credential_id] = per_cred.get(c.credential_id, 0) + c.count
    assert totals == per_cred  # every outgoing message counted once, under its credential
    assert len(domains) > 100  # the spammer's harvested list: many domains the fleet never mails


def test_an_ongoing_compromise_keeps_its_credential_alerts_open_until_it_ends() -> None:
    # the stolen credential sends from 10 to 40 min (stepped simulation, no sleeping): its alerts must stay
    # open all along, not resolve once its own recent past or its new domains have absorbed the incident
    run = run_scenario("compromised-credential", 60, lines="auth", poll=10.0, step=10.0)
    start, onset, end = run.fleet.start, 10.0, 40.0
    cred = [e for e in run.events if e.alert.scope.kind is ScopeKind.CREDENTIAL]
    for kind in ("zscore", "novelty"):
        mine = [e for e in cred if e.alert.kind == kind]
        fired = [(e.at - start) / 60 for e in mine if e.transition is Transition.FIRED]
        resolved = [(e.at - start) / 60 for e in mine if e.transition is Transition.RESOLVED]
        assert fired and onset <= fired[0] <= onset + 2, (kind, fired)
        # one alert for the whole incident: resolved only once the incident is over
        assert len(fired) == 1 and all(r > end for r in resolved), (kind, fired, resolved)
        assert resolved, (kind, "never resolved once the credential stopped")

"""The response policies' guards, one by one, on plain alerts (pure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from postaltop.core.alerts import Alert, AlertState, Scope, ScopeKind, Severity
from postaltop.core.respond import BusinessHours, Outcome, ResponseDecider, ResponseMode, ResponsePolicy

T0 = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC).timestamp()  # a Wednesday, 02:00 UTC
CRED = Scope(ScopeKind.CREDENTIAL, "3", "main smtp")
SERVER = Scope(ScopeKind.SERVER, "acme/transactional")


def alert(
    kind: str, scope: Scope = CRED, *, fired: float = T0, severity: Severity = Severity.CRITICAL
) -> Alert:
    return Alert(
        key=f"{kind}|{scope}",
        kind=kind,
        scope=scope,
        metric="sent",
        severity=severity,
        state=AlertState.FIRING,
        observed=900.0,
        expected=30.0,
        why="sent 900/min vs 30/min expected",
        action=None,
        source="db",
        first_seen=fired,
        last_seen=fired,
        fired_at=fired,
    )


def hold(**kw: object) -> ResponsePolicy:
    base: dict[str, object] = {"name": "hold", "action": "credential-hold", "mode": ResponseMode.ACT}
    base.update(kw)
    return ResponsePolicy(**base)  # type: ignore[arg-type]


def decider(
    *policies: ResponsePolicy, server: str | None = "acme/transactional", per_hour: int = 3
) -> ResponseDecider:
    return ResponseDecider(policies, lambda _alert: server, max_actions_per_hour=per_hour)


def test_waits_until_the_alert_has_fired_long_enough_then_acts_once() -> None:
    d = decider(hold(firing_for=120))
    alerts = [alert("novelty")]
    assert d.consider(alerts, T0 + 60) == []
    assert "60 s of the 120 s" in d.waiting[("hold", "novelty|credential:3")]
    [decision] = d.consider(alerts, T0 + 121)
    assert decision.outcome is Outcome.ACT
    assert decision.server == "acme/transactional"
    assert d.consider(alerts, T0 + 300) == [], "one incident is decided once"


def test_a_new_firing_of_the_same_alert_is_a_new_incident() -> None:
    d = decider(hold(firing_for=0, cooldown=0))
    assert len(d.consider([alert("novelty")], T0)) == 1
    assert len(d.consider([alert("novelty", fired=T0 + 900)], T0 + 900)) == 1


def test_policy_ignores_other_kinds_scopes_and_lower_severity() -> None:
    d = decider(hold(kinds=("novelty",), firing_for=0))
    assert d.consider([alert("zscore")], T0) == []
    assert d.consider([alert("novelty", SERVER)], T0) == []
    assert d.consider([alert("novelty", severity=Severity.WARNING)], T0) == []
    assert len(d.consider([alert("novelty")], T0)) == 1


def test_two_detectors_must_agree_on_the_same_scope() -> None:
    d = decider(hold(agree=2, firing_for=0))
    assert d.consider([alert("novelty")], T0) == []
    assert "1 of 2 detectors agree" in d.waiting[("hold", "novelty|credential:3")]
    its_server = alert("zscore", SERVER)
    assert d.consider([alert("novelty"), its_server], T0) == [], "a server spike is not the credential's"
    [decision] = d.consider([alert("novelty"), alert("zscore")], T0)
    assert decision.outcome is Outcome.ACT, "two alerts about one credential: one action"


def test_an_alert_resolved_long_ago_does_not_count_as_agreement_a_recent_one_does() -> None:
    d = decider(hold(agree=2, firing_for=0))
    old = replace(alert("zscore", fired=T0 - 3600), state=AlertState.RESOLVED, resolved_at=T0 - 1800)
    assert d.consider([alert("novelty"), old], T0) == []
    recent = replace(old, resolved_at=T0 - 300)
    [decision] = d.consider([alert("novelty"), recent], T0)
    assert decision.outcome is Outcome.ACT


def test_protected_and_unknown_servers_are_never_acted_on() -> None:
    d = decider(hold(firing_for=0, protected=("acme/*",)))
    [decision] = d.consider([alert("novelty")], T0)
    assert decision.outcome is Outcome.HELD_BACK
    assert "protected" in decision.reason
    unknown = decider(hold(firing_for=0, protected=("acme/*",)), server=None)
    [decision] = unknown.consider([alert("novelty")], T0)
    assert decision.outcome is Outcome.HELD_BACK
    assert "not known" in decision.reason


def test_kill_switch_holds_back_every_policy() -> None:
    d = decider(hold(firing_for=0))
    [decision] = d.consider([alert("novelty")], T0, killed=True)
    assert decision.outcome is Outcome.HELD_BACK
    assert "kill switch" in decision.reason


def test_fleet_wide_rate_limit_counts_every_policy_and_frees_after_an_hour() -> None:
    limit = ResponsePolicy("limit", "server-send-limit", send_limit=100, mode=ResponseMode.ACT, firing_for=0)
    d = decider(hold(firing_for=0), limit, per_hour=2)
    creds = [alert("novelty", Scope(ScopeKind.CREDENTIAL, str(i))) for i in range(2)]
    got = d.consider([*creds, alert("zscore", SERVER)], T0)
    assert [x.outcome for x in got] == [Outcome.ACT, Outcome.ACT, Outcome.HELD_BACK]
    assert "rate limit: 2 automatic actions" in got[2].reason
    later = alert("novelty", Scope(ScopeKind.CREDENTIAL, "9"), fired=T0 + 3601)
    [decision] = d.consider([later], T0 + 3601)
    assert decision.outcome is Outcome.ACT


def test_business_hours_rule_only_notifies_while_people_are_at_work() -> None:
    hours = BusinessHours.parse("mon-fri 09:00-18:00")
    policy = hold(firing_for=0, business_hours=hours, act_in_business_hours=False)
    night = decider(policy).consider([alert("novelty")], T0)
    assert night[0].outcome is Outcome.ACT
    noon = T0 + 10 * 3600
    [day] = decider(policy).consider([alert("novelty", fired=noon)], noon)
    assert day.outcome is Outcome.HELD_BACK
    assert "business hours" in day.reason


def test_notify_mode_changes_nothing_and_says_what_it_would_do() -> None:
    d = decider(hold(firing_for=0, mode=ResponseMode.NOTIFY))
    [decision] = d.consider([alert("novelty")], T0)
    assert decision.outcome is Outcome.NOTIFY
    assert "would run credential-hold on credential main smtp (#3)" in decision.sentence
    assert d.actions_in_last_hour(T0) == 0


@pytest.mark.parametrize(
    ("text", "ts", "inside"),
    [
        ("mon-fri 09:00-18:00", T0 + 7 * 3600, True),  # Wed 09:00
        ("mon-fri 09:00-18:00", T0 + 16 * 3600, False),  # Wed 18:00
        ("sat,sun 00:00-24:00", T0 + 3 * 86400, True),  # Saturday
        ("mon-fri 09:00-18:00", T0 + 3 * 86400 + 10 * 3600, False),
    ],
)
def test_business_hours(text: str, ts: float, inside: bool) -> None:
    assert BusinessHours.parse(text).contains(ts) is inside


@pytest.mark.parametrize(
    "text", ["", "weekdays", "mon-fri 18:00-09:00", "fri-mon 09:00-10:00", "mon 25:00-26:00"]
)
def test_bad_business_hours_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match="business hours"):
        BusinessHours.parse(text)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"action": "credential-revoke"}, "not one of"),
        ({"action": "server-send-limit"}, "needs send_limit"),
        ({"agree": 0}, "agree"),
    ],
)
def test_bad_policies_are_refused(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hold(**kw)


def test_an_alert_without_a_baseline_is_never_acted_on() -> None:
    d = decider(hold(firing_for=0))
    for expected in (None, 0.0):
        learning = replace(alert("zscore"), expected=expected)
        assert d.consider([learning], T0) == []
        assert "no baseline" in d.waiting[("hold", "zscore|credential:3")]


def test_a_flapping_alert_is_acted_on_once_within_the_cooldown() -> None:
    d = decider(hold(firing_for=0, cooldown=3600))
    assert [x.outcome for x in d.consider([alert("zscore")], T0)] == [Outcome.ACT]
    again = alert("zscore", fired=T0 + 600)
    assert d.consider([again], T0 + 600) == []
    assert "cooldown" in d.waiting[("hold", "zscore|credential:3")]
    later = alert("zscore", fired=T0 + 3700)
    assert [x.outcome for x in d.consider([later], T0 + 3700)] == [Outcome.ACT]


HOLD = '[[respond]]\nname = "x"\naction = "credential-hold"\n'


HOLD = '[[respond]]\nname = "x"\naction = "credential-hold"\n'


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (HOLD.replace("credential-hold", "credential-revoke"), "must be one of"),
        (HOLD.replace("credential-hold", "server-send-limit"), "needs send_limit"),
        (HOLD + 'business_hours = "weekdays"\n', "business hours"),
        (HOLD + 'utc_offset = "CET"\n', "UTC offset"),
        (HOLD + HOLD, "two"),
        (HOLD + 'mode = "yolo"\n', "mode"),
    ],
)
def test_bad_policy_config_is_refused_with_a_message(tmp_path: object, toml: str, message: str) -> None:
    from pathlib import Path

    from postaltop.config import ConfigError, load_settings

    path = Path(str(tmp_path)) / "config.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_settings(path, environ={})

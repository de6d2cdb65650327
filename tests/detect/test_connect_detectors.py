"""The pure pieces behind detection at connect: send limit, ratio baselines, trends that end, ordering."""

from __future__ import annotations

import math

from postaltop.core.alerts import (
    GLOBAL,
    Alert,
    AlertState,
    Scope,
    ScopeKind,
    Severity,
    alert_order,
)
from postaltop.core.baseline import Baselines, Expectation
from postaltop.core.connect_state import (
    Backfill,
    CredentialDomainSpan,
    DeliveryMinute,
    MessageMinute,
    fold_backfill,
    held_reason,
)
from postaltop.core.detect.ramp import RampDetector
from postaltop.core.detect.ratio import RatioDetector, wilson_low
from postaltop.core.detect.send_limit import SendLimitDetector

SERVER = Scope(ScopeKind.SERVER, "acme/bulk")


def test_held_reasons_are_postals_texts() -> None:
    assert held_reason("Message held because send limit (600) has been reached.") == "send_limit"
    assert held_reason("Credential is configured to hold all messages authenticated by it.") == "credential"
    assert held_reason("Recipient (a@b.c) is on the suppression list (reason: hard fail)") == "suppression"
    assert held_reason("Server is in development mode.") == "development"
    assert held_reason("Mail server has been suspended. No e-mails can be processed.") == "suspended"
    assert held_reason(None) == "other" and held_reason("Recipient is nice") == "other"


def test_send_limit_throttling_names_the_senders_and_ends() -> None:
    d = SendLimitDetector()
    assert d.judge(SERVER, 1000.0, usage_pct=40.0, limit=600) is None
    near = d.judge(SERVER, 1000.0, usage_pct=95.0, limit=600)
    assert near is not None and near.severity is Severity.WARNING
    d.observe_held(SERVER, 1010.0, 30, {"credential bulk smtp (#20)": 28, "no credential": 2})
    d.observe_held(SERVER, 1070.0, 30, {"credential bulk smtp (#20)": 30})
    found = d.judge(SERVER, 1080.0, usage_pct=104.0, limit=600, exceeded_age=5.0)
    assert found is not None and found.severity is Severity.CRITICAL and found.kind == "send_limit"
    assert "bulk smtp (#20) (58)" in found.why and "104 %" in found.why
    assert found.action is not None and found.action.action_id == "raise_send_limit"
    # ten minutes later, nothing held any more and Postal no longer throttling: no finding
    assert d.judge(SERVER, 1800.0, usage_pct=50.0, limit=600, exceeded_age=700.0) is None


def test_bounce_ratio_against_the_usual_rate_and_small_samples() -> None:
    d = RatioDetector()
    d.set_baseline(SERVER, "bounce_rate", 0.10)  # this server's lists always bounce 10 %
    out = []
    for minute in range(10):
        out += d.update(SERVER, minute * 60, 100.0, 12.0, 0.0)
    assert not out  # 12 % is its normal, above the 8 % default
    storm = []
    for minute in range(10, 15):
        storm = d.update(SERVER, minute * 60, 100.0, 40.0, 0.0)
    assert storm and storm[0].severity is Severity.WARNING  # 40 % over 2 min: 3x its usual, not 5x
    assert "usually 10.0%" in storm[0].why
    small = RatioDetector()
    assert small.update(GLOBAL, 0, 10.0, 4.0, 0.0) == []  # 4 failures: too few to judge
    assert wilson_low(13, 30) > 0.15 > wilson_low(5, 20)
    found = small.update(GLOBAL, 60, 10.0, 8.0, 0.0)  # 12 of 20 over the two minutes
    assert found and found[0].severity is Severity.CRITICAL


def test_a_rising_trend_is_flagged_and_its_alarm_ends_back_in_band() -> None:
    d = RampDetector()
    usual = Expectation(20.0, 4.0, 12, False)
    fired_at = None
    for minute in range(240):
        value = 20.0 * (1 + min(1.0, minute / 120))  # doubles over two hours
        if d.update(SERVER, "sent", value, usual, minute * 60.0) is not None and fired_at is None:
            fired_at = minute
    assert fired_at is not None and fired_at < 120
    ended = None
    for minute in range(240, 300):
        found = d.update(SERVER, "sent", 20.0, usual, minute * 60.0)
        if found is None and ended is None:
            ended = minute
    assert ended is not None and ended - 240 <= 15
    # a short spike alone is no trend
    spike = RampDetector()
    assert all(
        spike.update(SERVER, "sent", 200.0 if m < 5 else 20.0, usual, m * 60.0) is None for m in range(30)
    )


def test_hour_of_day_fallback_from_two_days_of_history() -> None:
    b = Baselines()
    scope = Scope(ScopeKind.CREDENTIAL, "11")
    now = 1_800_000_000.0
    for hour in range(48):
        t = int(now - (hour + 1) * 3600) // 3600 * 3600
        b.add_sample(scope, "sent", t, 5.0 + (hour % 3))
    assert b.expect(scope, "sent", now).learning  # no sample yet for this weekday's hour
    daily = b.expect_daily(scope, "sent", now)
    assert not daily.learning and 5.0 <= daily.median <= 7.0 and daily.samples >= 3


def test_fold_backfill_per_minute_per_server() -> None:
    backfill = Backfill(
        start=0.0,
        end=180.0,
        messages=(MessageMinute(1, 0, 11, 5), MessageMinute(1, 0, None, 2), MessageMinute(1, 1, 11, 3)),
        deliveries=(
            DeliveryMinute(1, 0, "Sent", False, "", None, 4),
            DeliveryMinute(1, 1, "HardFail", False, "", None, 2),
            DeliveryMinute(1, 1, "Held", False, "send_limit", 11, 7),
        ),
        credential_domains=(CredentialDomainSpan(1, 11, "x.ru", 0, 1, 8),),
    )
    folded = fold_backfill(backfill)
    assert list(folded) == [0, 1]
    first, second = folded[0][1], folded[1][1]
    assert first.outgoing == 7 and first.credentials == {11: 5} and first.sent == 4
    assert second.hard_fail == 2 and second.held_send_limit == 7 and second.held_by_credential == {11: 7}
    assert first.new_domains == {11: ["x.ru"]} and second.new_domains == {11: ["x.ru"]}


def _alert(kind: str, scope: Scope, severity: Severity, at: float) -> Alert:
    return Alert(f"{kind}|{scope}", kind, scope, "sent", severity, AlertState.FIRING, 1.0, 1.0, "", None,
                 "db", at, at, fired_at=at)  # fmt: skip


def test_alert_order_puts_the_most_specific_most_severe_first() -> None:
    cred = Scope(ScopeKind.CREDENTIAL, "11", "app smtp on acme/app")
    alerts = [
        _alert("zscore", GLOBAL, Severity.CRITICAL, 10.0),
        _alert("ramp", SERVER, Severity.CRITICAL, 30.0),
        _alert("zscore", SERVER, Severity.CRITICAL, 20.0),
        _alert("zscore", cred, Severity.WARNING, 40.0),
        _alert("zscore", cred, Severity.CRITICAL, 5.0),
        _alert("novelty", cred, Severity.CRITICAL, 1.0),
    ]
    ordered = [(a.kind, str(a.scope), a.severity.value) for a in sorted(alerts, key=alert_order)]
    assert ordered[:4] == [
        ("novelty", "credential:11", "critical"),
        ("zscore", "credential:11", "critical"),
        ("zscore", "server:acme/bulk", "critical"),
        ("ramp", "server:acme/bulk", "critical"),
    ]
    assert ordered[-1][2] == "warning"
    assert "acme/app" in cred.display and "#11" in cred.display
    assert not math.isnan(alert_order(alerts[0])[-1])

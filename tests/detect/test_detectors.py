"""Each detector on plain data."""

from __future__ import annotations

import math

from postaltop.core.alerts import GLOBAL, MAX_SEQS, AlertManager, Scope, ScopeKind, Severity
from postaltop.core.baseline import Expectation
from postaltop.core.detect.burst import AuthBurstDetector
from postaltop.core.detect.novelty import NoveltyDetector, NoveltySettings
from postaltop.core.detect.queue import QueueGrowthDetector, slope
from postaltop.core.detect.ramp import RampDetector
from postaltop.core.detect.ratio import RatioDetector
from postaltop.core.detect.static import StaticDetector, Threshold
from postaltop.core.detect.zscore import ZScoreDetector
from postaltop.core.facts import AuthFailure

SRV = Scope(ScopeKind.SERVER, "acme/app")
NORMAL = Expectation(100.0, 10.0, 12, False)


def test_static_thresholds() -> None:
    d = StaticDetector({"sent": Threshold(500, 2000)})
    assert d.check(SRV, "sent", 499, 0) is None
    w = d.check(SRV, "sent", 500, 0)
    c = d.check(SRV, "sent", 2500, 0)
    assert w is not None and w.severity is Severity.WARNING
    assert c is not None and c.severity is Severity.CRITICAL and "2000" in c.why
    assert d.check(SRV, "sent", math.nan, 0) is None
    assert d.check(Scope(ScopeKind.IP, "1.2.3.4"), "sent", 9999, 0) is None


def test_zscore_flags_jump_not_noise_nor_learning() -> None:
    d = ZScoreDetector()
    for i in range(30):
        assert d.update(SRV, "sent", 100 + (i % 3 - 1) * 12, NORMAL, i * 60) is None
    found = None
    for i in range(30, 35):
        found = d.update(SRV, "sent", 450, NORMAL, i * 60)
    assert found is not None and found.severity is Severity.CRITICAL and "z=" in found.why
    learning = Expectation(0.0, 0.0, 0, True)
    assert ZScoreDetector().update(SRV, "sent", 10_000, learning, 0) is None
    assert d.update(SRV, "sent", math.inf, NORMAL, 0) is None


def test_zscore_ignores_tiny_scopes() -> None:
    d = ZScoreDetector()
    tiny = Expectation(0.2, 0.5, 12, False)
    assert all(d.update(SRV, "sent", 3, tiny, i * 60) is None for i in range(10))


def test_ramp_cusum_catches_slow_growth_but_not_one_spike() -> None:
    d = RampDetector()
    assert all(d.update(SRV, "sent", 100 + (i % 5 - 2) * 8, NORMAL, i * 60) is None for i in range(120))
    assert d.update(SRV, "sent", 1000, NORMAL, 0) is None  # one spike: clamped
    fired_at = None
    for minute in range(240):
        value = 100 * (1 + 0.5 * minute / 60)
        if d.update(SRV, "sent", value, NORMAL, minute * 60) is not None:
            fired_at = minute
            break
    assert fired_at is not None and fired_at <= 60


def test_auth_burst_per_ip_and_user_with_seqs() -> None:
    d = AuthBurstDetector()
    out = []
    for i in range(30):
        fact = AuthFailure(
            ts=1000 + i, host="mx1", seq=i, ip="192.0.2.9", detail="no server found matching a/b"
        )
        out = d.feed(fact)
    scopes = {f.scope: f for f in out}
    ip = scopes[Scope(ScopeKind.IP, "192.0.2.9")]
    assert ip.severity is Severity.CRITICAL and ip.seqs[-1] == 29 and ip.source == "mx1"
    assert Scope(ScopeKind.CREDENTIAL, "a/b") in scopes and GLOBAL in scopes
    # a minute later the window is empty again
    assert d.feed(AuthFailure(ts=2000, host="mx1", seq=99, ip="192.0.2.9")) == []


def test_auth_burst_finding_carries_the_newest_lines_only() -> None:
    """A fleet-wide burst: the finding names the newest MAX_SEQS lines, oldest first, not the whole window."""
    d = AuthBurstDetector()
    out = []
    for i in range(2_000):
        out = d.feed(AuthFailure(ts=1000 + i / 100, host="mx1", seq=i, ip=f"198.51.100.{i % 200}"))
    total = next(f for f in out if f.scope == GLOBAL)
    assert total.observed == 2_000.0
    assert total.seqs == tuple(range(2_000 - MAX_SEQS, 2_000))


def test_alert_merges_new_lines_once_and_keeps_the_newest() -> None:
    d = AuthBurstDetector()
    manager = AlertManager()
    for i in range(200):
        manager.observe(
            d.feed(AuthFailure(ts=1000 + i / 10, host="mx1", seq=i, ip="192.0.2.9")), 1000 + i / 10
        )
    alert = next(a for a in manager.alerts if a.scope == GLOBAL)
    assert alert.seqs == tuple(range(200 - MAX_SEQS, 200))


def test_auth_burst_scattered_failures_are_quiet() -> None:
    d = AuthBurstDetector()
    assert all(
        d.feed(AuthFailure(ts=i * 120.0, host="mx1", seq=i, ip=f"198.51.100.{i}")) == [] for i in range(50)
    )


def test_ratio_needs_minimum_volume() -> None:
    d = RatioDetector()
    assert d.update(SRV, 0, 2, 1, 0) == []  # 50 % of 2 is nothing
    found = []
    for m in range(1, 6):
        found = d.update(SRV, m * 60, 100, 30, 0)
    (bounce,) = found
    assert bounce.metric == "bounce_rate" and bounce.severity is Severity.CRITICAL and "of" in bounce.why
    assert d.update(SRV, 0, 100, 100, 0) == []  # out of order


def test_ratio_spam() -> None:
    d = RatioDetector()
    assert d.update(SRV, 0, 200, 0, 6) == []  # 3 % of 200: not sure to be above the usual 0.7 %
    (spam,) = d.update(SRV, 60, 800, 0, 24)  # 3 % of 1000 is
    assert spam.metric == "spam_rate" and spam.severity is Severity.WARNING


def test_novelty_after_learning() -> None:
    d = NoveltyDetector(NoveltySettings(learning_seconds=600))
    cred = Scope(ScopeKind.CREDENTIAL, "3")
    assert d.feed(cred, [f"d{i}.example" for i in range(50)], 0) is None  # learning
    assert d.feed(cred, ["d1.example"], 1200) is None
    found = d.feed(cred, [f"new{i}.example" for i in range(40)], 1260)
    assert found is not None and found.severity is Severity.CRITICAL and found.observed == 40


def test_novelty_history_read_after_a_live_sighting_makes_the_domain_known() -> None:
    d = NoveltyDetector(NoveltySettings(learning_seconds=600))
    cred = Scope(ScopeKind.CREDENTIAL, "5")
    assert d.feed(cred, ["usual.example"], 5_000) is None  # seen live before its history was read
    d.learn(cred, ["usual.example", "gmail.com"], 0)  # history: it mailed usual.example long before
    found = d.feed(cred, [f"new{i}.example" for i in range(40)], 5_010)
    assert found is not None and found.observed == 40  # usual.example is not counted as new


def test_novelty_ignores_a_long_tail_among_many_known_domains() -> None:
    d = NoveltyDetector(NoveltySettings(learning_seconds=600))
    busy = Scope(ScopeKind.CREDENTIAL, "4")
    usual = [f"d{i}.example" for i in range(200)]
    assert d.feed(busy, usual, 0) is None
    # ten minutes later: 200 usual domains plus 40 never seen (17 %): a long tail, not a hijack
    assert d.feed(busy, usual + [f"tail{i}.example" for i in range(40)], 1200) is None
    # a hijack: 120 new domains beside the usual ones, most of what is mailed in the window is new
    found = d.feed(busy, usual[:50] + [f"spam{i}.example" for i in range(120)], 2400)
    assert found is not None and found.severity is Severity.CRITICAL


def test_queue_growth() -> None:
    assert slope([(0, 0), (1, 2), (2, 4)]) == 2
    d = QueueGrowthDetector()
    found = None
    for i in range(11):
        found = d.update(GLOBAL, 100 + i * 150, i * 60.0)
    assert found is not None and found.severity is Severity.CRITICAL
    flat = QueueGrowthDetector()
    assert all(flat.update(GLOBAL, 500 + (i % 2) * 10, i * 60.0) is None for i in range(11))

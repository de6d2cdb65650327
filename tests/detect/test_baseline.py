"""Hour-of-week baselines: slots, bootstrap from Postal statistics, online update, learning."""

from __future__ import annotations

import math

from postaltop.core.alerts import GLOBAL, Scope, ScopeKind
from postaltop.core.baseline import Baselines, hour_of_week
from postaltop.core.dbmetrics import HistoryPoint

MONDAY = 1777248000  # 2026-04-27 00:00 UTC, a Monday
SRV = Scope(ScopeKind.SERVER, "acme/app")


def test_hour_of_week() -> None:
    assert hour_of_week(MONDAY) == 0
    assert hour_of_week(MONDAY + 3600 * 25) == 25
    assert hour_of_week(MONDAY - 3600) == 167
    assert hour_of_week(math.nan) == 0


def test_learning_until_enough_history() -> None:
    b = Baselines()
    assert b.expect(SRV, "sent", MONDAY).learning
    b.add_sample(SRV, "sent", MONDAY, 10.0)
    assert b.expect(SRV, "sent", MONDAY).learning


def test_bootstrap_hourly_history_gives_median_and_global() -> None:
    points = []
    for week in range(4):
        for h in range(168):
            t = MONDAY - (week + 1) * 7 * 86400 + h * 3600
            points.append(HistoryPoint(1, "hour", t, 0, 600 + 60 * (h % 24) + week, 0, 6, 0))
            points.append(HistoryPoint(2, "hour", t, 0, 60, 0, 0, 0))
    b = Baselines()
    assert b.bootstrap(points, {1: SRV}, now=MONDAY) == 4 * 168 * 2
    assert Baselines().bootstrap(points, {1: SRV}) == 4 * 168 * 2 - 2  # newest hour: maybe incomplete
    exp = b.expect(SRV, "sent", MONDAY + 5 * 3600)  # 05:00: ~ (600+300)/60 = 15/min
    assert not exp.learning and exp.samples == 4  # own slot once it has enough weeks
    assert 14 < exp.median < 16
    assert b.expect(Scope(ScopeKind.SERVER, "2"), "sent", MONDAY).median == 1.0
    assert 15 < b.expect(GLOBAL, "sent", MONDAY + 5 * 3600).median < 17
    assert b.expect(SRV, "bounced", MONDAY).median == 0.1


def test_daily_rows_used_only_without_hourly() -> None:
    b = Baselines()
    pts = [HistoryPoint(3, "day", MONDAY - d * 86400, 0, 14400, 0, 0, 0) for d in (7, 14, 21)]
    b.bootstrap(pts, {})
    exp = b.expect(Scope(ScopeKind.SERVER, "3"), "sent", MONDAY + 3600)
    assert exp.median == 10.0 and not exp.learning


def test_online_hours_become_samples_and_gaps_are_skipped() -> None:
    b = Baselines()
    for week in range(3):
        base = MONDAY + week * 7 * 86400
        for minute in range(60):
            b.observe(SRV, "sent", base + minute * 60, 20.0)
        for minute in range(10):  # a short hour (host down): discarded
            b.observe(SRV, "sent", base + 3600 + minute * 60, 500.0)
        b.observe(SRV, "sent", base + 7200, math.nan)
        b.observe(SRV, "sent", base + 7200, 1.0)  # closes the short hour
    exp = b.expect(SRV, "sent", MONDAY + 3 * 7 * 86400)
    assert exp.samples == 3 and exp.median == 20.0
    assert len(b.take_new()) == 3 and b.take_new() == []


def test_out_of_order_minute_ignored() -> None:
    b = Baselines()
    b.observe(SRV, "sent", MONDAY + 7200, 1.0)
    b.observe(SRV, "sent", MONDAY, 999.0)
    assert b.series[(SRV, "sent")].acc.total == 1.0

"""Issue 6 "Bad input": gaps, counters going backwards, a server with no history, NaN from the database.

Each case must not crash, must not raise a storm of alerts, and must leave a clear state (a series that
says "learning", NaN = "no data" in the chart, the database status).
"""

from __future__ import annotations

import math

from postaltop.config import DatabaseConfig
from postaltop.core.alerts import GLOBAL, Scope, ScopeKind, Transition
from postaltop.core.dbmetrics import HistoryPoint, PollResult, ServerInfo, ServerSample, WindowCounts
from postaltop.monitoring import Monitor
from postaltop.sources.postal_db import PostalDbSource
from postaltop.sources.postal_db.windows import Cursor

T0 = 1777366800.0  # Tuesday 09:00 UTC
APP = ServerInfo(1, "acme", "app", "App", "Live", False, None, None, "postal-server-1")
NEW = ServerInfo(2, "acme", "fresh", "Fresh", "Live", False, None, None, "postal-server-2")
SRV = Scope(ScopeKind.SERVER, "acme/app")
FRESH = Scope(ScopeKind.SERVER, "acme/fresh")


def sample(sid: int, ts: float, outgoing: float, depth: float = 0, **extra: float) -> ServerSample:
    counts = WindowCounts(outgoing=outgoing, sent=outgoing, **extra)  # type: ignore[arg-type]
    return ServerSample(sid, ts, 60.0, counts, queue_depth=depth)  # type: ignore[arg-type]


def poll(ts: float, *samples: ServerSample, connected: bool = True) -> PollResult:
    servers = (APP, NEW) if any(s.server_id == 2 for s in samples) else (APP,)
    return PollResult(ts, 0.01, connected, "ok" if connected else "unreachable: timed out", servers, samples)


def history(sid: int = 1, per_hour: float = 600) -> list[HistoryPoint]:
    return [
        HistoryPoint(sid, "hour", int(T0) - w * 7 * 86400 + h * 3600, 0, per_hour, 0, 6, 0)  # type: ignore[arg-type]
        for w in range(1, 5)
        for h in range(-6, 30)
    ]


def fired(m: Monitor) -> list[str]:
    events: list[str] = []
    m.on_alert(
        lambda e: (
            events.append(f"{e.alert.kind}|{e.alert.scope}") if e.transition is Transition.FIRED else None
        )
    )
    return events


def normal(m: Monitor, start: float, minutes: int) -> None:
    for i in range(minutes):
        m.on_metrics(poll(start + i * 60, sample(1, start + i * 60, 10)))


def test_database_down_for_hours_then_back_raises_nothing_and_shows_no_data() -> None:
    m = Monitor()
    m.bootstrap(history(), [APP])
    events = fired(m)
    normal(m, T0 + 60, 30)
    for i in range(120):  # two hours of failed polls
        m.on_metrics(poll(T0 + 1860 + i * 60, connected=False))
    assert m.db_status.startswith("unreachable")
    normal(m, T0 + 1860 + 7200, 30)
    assert events == []
    view = m.series(SRV, "sent", 6 * 3600)
    gap = [v for t, v in zip(view.times, view.values, strict=True) if T0 + 2100 <= t < T0 + 8700]
    assert gap and all(math.isnan(v) for v in gap)  # the chart shows "no data", not zero traffic
    assert not view.learning


def test_polls_stopping_silently_is_a_gap_not_a_traffic_drop() -> None:
    m = Monitor()
    m.bootstrap(history(), [APP])
    events = fired(m)
    normal(m, T0 + 60, 20)
    normal(m, T0 + 60 + 20 * 60 + 3 * 3600, 30)  # a laptop suspended for three hours
    assert events == []
    values = m.series(SRV, "sent", 4 * 3600).values
    assert sum(1 for v in values if v == 0) <= 3  # at most the short zero-fill, never hours of zeros


def test_counters_going_backwards_are_skipped() -> None:
    m = Monitor()
    m.bootstrap(history(), [APP])
    events = fired(m)
    normal(m, T0 + 60, 15)
    t = T0 + 16 * 60
    m.on_metrics(poll(t, sample(1, t, -4000, bounced=-50, hard_fail=-9)))  # a window that went negative
    m.on_metrics(poll(t + 60, sample(1, t + 60, 10, depth=-3)))  # queue depth below zero
    normal(m, t + 120, 10)
    assert events == []
    values = m.series(SRV, "sent", 900).values
    assert min(v for v in values if not math.isnan(v)) >= 0


def test_db_source_reseeds_when_ids_go_backwards() -> None:
    source = PostalDbSource(DatabaseConfig(), environ={})
    first = source._plan(1, (T0, 5000, 9000, 0, 0, 0))
    source._cursors[1] = Cursor(first.max_msg, first.max_del, T0)
    again = source._plan(1, (T0 + 5, 120, 300, 0, 0, 0))  # tables restored from an older backup
    assert again.from_msg <= again.max_msg == 120 and again.from_del <= again.max_del == 300
    assert again.seconds > 0 and again.min_ts > 0  # a bounded recent range, as at first sight


def test_server_with_zero_history_stays_learning_and_quiet() -> None:
    m = Monitor()
    m.bootstrap(history(1), [APP, NEW])  # server 2 has no stats rows at all
    events = fired(m)
    for i in range(1, 40):
        ts = T0 + i * 60
        m.on_metrics(poll(ts, sample(1, ts, 10), sample(2, ts, 40)))
    assert m.baselines.expect(FRESH, "sent", T0 + 1800).learning
    assert m.series(FRESH, "sent", 900).learning  # the chart says "learning (no baseline yet)"
    assert events == []  # neither the server nor the global scope (whose baseline lacks the new server)


def test_nan_from_the_database_neither_crashes_nor_poisons_baselines() -> None:
    m = Monitor()
    bad = [HistoryPoint(1, "hour", int(T0) - 7 * 86400, 0, math.nan, 0, math.nan, 0)]  # type: ignore[arg-type]
    bad.append(HistoryPoint(1, "hour", int(T0) - 14 * 86400 + 3600, 0, math.inf, 0, 0, 0))  # type: ignore[arg-type]
    m.bootstrap(history() + bad, [APP])
    exp = m.baselines.expect(SRV, "sent", T0 + 60)
    assert not exp.learning and math.isfinite(exp.median) and math.isfinite(exp.spread)
    events = fired(m)
    for i in range(1, 20):
        ts = T0 + i * 60
        odd = sample(1, ts, math.nan if i % 3 == 0 else 10, depth=math.nan if i % 4 == 0 else 0)
        m.on_metrics(poll(ts, odd))
    m.on_metrics(poll(math.nan, sample(1, math.nan, 10)))
    assert events == []
    exp = m.expected(GLOBAL, "sent", T0 + 1200)
    assert math.isfinite(exp.median)

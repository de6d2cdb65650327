"""The Monitor on odd input: NaN and negative counts, a database going down, clock skew, no history."""

from __future__ import annotations

import math
from dataclasses import replace

from postaltop.core.alerts import DB_SOURCE, GLOBAL, AlertState, Scope, ScopeKind
from postaltop.core.dbmetrics import HistoryPoint, PollResult, ServerInfo, ServerSample, WindowCounts
from postaltop.core.facts import AuthFailure
from postaltop.core.ingest import IngestResult
from postaltop.engine import Engine
from postaltop.monitoring import Monitor

T0 = 1777366800.0  # Tuesday 09:00 UTC
INFO = ServerInfo(1, "acme", "app", "App", "Live", False, None, None, "postal-server-1")
SRV = Scope(ScopeKind.SERVER, "acme/app")


def poll(ts: float, outgoing: float, connected: bool = True, depth: int = 0) -> PollResult:
    counts = WindowCounts(outgoing=outgoing, sent=outgoing)  # type: ignore[arg-type]
    sample = ServerSample(1, ts, 60.0, counts, queue_depth=depth)
    return PollResult(ts, 0.01, connected, "ok" if connected else "unreachable", (INFO,), (sample,))


def history() -> list[HistoryPoint]:
    return [
        HistoryPoint(1, "hour", int(T0) - w * 7 * 86400 + h * 3600, 0, 600, 0, 6, 0)
        for w in range(1, 5)
        for h in range(-3, 4)
    ]


def test_bootstrap_then_spike_alerts_and_nan_is_ignored() -> None:
    m = Monitor()
    m.bootstrap(history(), [INFO])
    for i in range(1, 16):
        m.on_metrics(poll(T0 + i * 60, 10))
    m.on_metrics(poll(T0 + 16 * 60, math.nan))
    m.on_metrics(poll(T0 + 17 * 60, -5))
    assert m.alerts == []
    for i in range(18, 24):
        m.on_metrics(poll(T0 + i * 60, 300))
    kinds = {(a.kind, a.scope) for a in m.alerts}
    assert ("zscore", SRV) in kinds and ("zscore", GLOBAL) in kinds
    view = m.series(SRV, "sent", 3600)
    assert not view.learning and view.markers and max(v for v in view.values if v == v) == 300


def test_no_history_means_learning_and_no_alert() -> None:
    m = Monitor()
    for i in range(1, 6):
        m.on_metrics(poll(T0 + i * 60, 10 if i < 5 else 5000))
    assert m.alerts == []
    assert m.series(SRV, "sent", 900).learning


def test_database_down_inhibits_instead_of_resolving() -> None:
    m = Monitor()
    m.bootstrap(history(), [INFO])
    for i in range(1, 8):
        m.on_metrics(poll(T0 + i * 60, 400))
    assert any(a.state is AlertState.FIRING for a in m.alerts)
    m.on_metrics(poll(T0 + 8 * 60, 0, connected=False))
    assert m.alerts_manager.is_down(DB_SOURCE)
    m.on_facts(IngestResult(0, 1, [AuthFailure(ts=T0 + 3600, host="mx1", seq=1, ip="192.0.2.1")]))
    assert all(a.inhibited and a.state is AlertState.FIRING for a in m.alerts if a.source == DB_SOURCE)


def test_late_and_skewed_input_does_not_crash() -> None:
    m = Monitor()
    m.on_metrics(poll(T0 + 600, 10))
    m.on_metrics(poll(T0, 10))  # 10 minutes late: dropped
    m.on_metrics(replace(poll(T0 + 660, 10), samples=(replace(poll(T0, 1).samples[0], sampled_at=math.inf),)))
    m.on_facts(IngestResult(0, 1, [AuthFailure(ts=math.nan, host="mx1", seq=1, ip="x")]))
    m.on_metrics(poll(T0 + 720, 10))
    values = m.series(SRV, "sent", 900).values
    assert values[-1] == 10 and values[-2] == 0 and values[-3] == 10
    assert math.isnan(values[-12])  # the late sample for minute -1 was not written back


def test_attached_monitor_marks_burst_lines() -> None:
    engine = Engine(clock=lambda: T0)
    m = Monitor()
    m.attach(engine)
    lines = [
        f"2026-04-28 09:00:{i:02d} +0000 WARN   Authentication failure for 192.0.2.9 trace_id=AB{i:06d} "
        "component=smtp-server".encode()
        for i in range(12)
    ]
    result = engine.feed("mx1", "smtp", lines, received_at=T0)
    seqs = range(result.first_seq, result.first_seq + 12)
    assert [m.marker_for(s) for s in seqs][-3:] == [m.marked[seqs[-1]]] * 3 and m.marked[
        seqs[-1]
    ].value == "warning"
    assert m.marker_for(result.first_seq - 1) is None


def test_detection_disabled_raises_nothing_but_keeps_series() -> None:
    from postaltop.config.sections.detection import DetectionConfig

    m = Monitor(DetectionConfig(enabled=False))
    m.bootstrap(history(), [INFO])
    for i in range(1, 8):
        m.on_metrics(poll(T0 + i * 60, 400))
    assert m.alerts == [] and m.series(SRV, "sent", 900).values[-1] == 400


def test_config_rejects_warning_above_critical() -> None:
    import pytest
    from pydantic import ValidationError

    from postaltop.config.sections.detection import DetectionConfig

    with pytest.raises(ValidationError, match="z_warning"):
        DetectionConfig(z_warning=12, z_critical=10)
    with pytest.raises(ValidationError):
        DetectionConfig(unknown_key=1)  # type: ignore[call-arg]


async def test_async_history_provider_bootstraps_at_first_connected_poll() -> None:
    import asyncio

    m = Monitor()
    calls = []

    async def provider() -> list[HistoryPoint]:
        calls.append(1)
        await asyncio.sleep(0)
        return history()

    m.set_history_provider(provider)
    m.on_metrics(poll(T0, 0, connected=False))
    assert calls == []
    m.on_metrics(poll(T0 + 60, 10))
    m.on_metrics(poll(T0 + 120, 10))
    await asyncio.sleep(0.05)
    assert calls == [1] and m.bootstrapped and not m.baselines.is_learning(SRV, "sent", T0 + 1800)


def test_failing_history_provider_leaves_scopes_learning() -> None:
    m = Monitor()

    def broken() -> list[HistoryPoint]:
        raise OSError("db gone")

    m.set_history_provider(broken)
    m.on_metrics(poll(T0 + 60, 10))
    assert m.history_error is not None and not m.bootstrapped


async def test_state_at_connect_is_judged_before_the_polls_that_arrived_meanwhile() -> None:
    import asyncio

    from postaltop.core.connect_state import Backfill, ConnectRequest, ConnectState, MessageMinute

    m = Monitor()
    asked: list[ConnectRequest] = []
    gate = asyncio.Event()

    async def provider(request: ConnectRequest) -> ConnectState:
        asked.append(request)
        await gate.wait()
        minutes = range(int(request.start // 60), int(request.until // 60))
        surge = [MessageMinute(1, mm, 7, 10 if mm < int(request.until // 60) - 20 else 400) for mm in minutes]
        return ConnectState(
            history=tuple(history()), backfill=Backfill(request.start, request.until, tuple(surge))
        )

    m.set_state_provider(provider)
    m.on_metrics(poll(T0, 10))  # the first connected poll asks for the state and is held back
    m.on_metrics(poll(T0 + 5, 10))
    await asyncio.sleep(0.01)
    assert asked and asked[0].until == T0 and asked[0].backfill_seconds == 6 * 3600
    assert m.series(SRV, "sent", 3600).values.count(10.0) == 0  # nothing judged yet
    gate.set()
    await m.history_loaded()
    assert m.connect_state is not None and m.state_error is None
    fired = [a for a in m.alerts if a.scope == SRV and a.kind == "zscore"]
    assert fired and fired[0].severity.value == "critical"  # the surge already under way at connect
    assert any(a.scope.kind is ScopeKind.CREDENTIAL and a.scope.key == "7" for a in m.alerts)
    drawn = [v for v in m.series(SRV, "sent", 6 * 3600, max_points=400).values if v == v]
    assert len(drawn) >= 300  # the chart shows the past six hours at once


async def test_a_failing_state_read_still_judges_the_held_back_polls() -> None:
    async def broken(_request: object) -> None:
        raise OSError("db gone")

    m = Monitor()
    m.set_state_provider(broken)
    m.on_metrics(poll(T0 + 60, 10))
    m.on_metrics(poll(T0 + 125, 10))
    await m.history_loaded()
    assert m.state_error is not None and "OSError" in m.state_error
    assert m.now == T0 + 125  # both polls were judged after the failure

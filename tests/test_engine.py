"""The engine: ingest, host status, bounded queue, coalesced change signal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from postaltop.core.events import Level
from postaltop.core.ingest import IngestResult
from postaltop.engine import RATE_WINDOW_S, Engine

EPOCH = 1777366800.0  # 2026-04-28 09:00:00 UTC


def v3(sec: int, level: str, message: str) -> bytes:
    return (
        f"2026-04-28 09:00:{sec:02d} +0000 {level.ljust(7)}{message} component=worker thread=work0".encode()
    )


class FakeClock:
    def __init__(self, now: float = EPOCH) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_feed_stores_every_line_and_counts_per_host() -> None:
    clock = FakeClock()
    engine = Engine(retained_lines=10_000, clock=clock)
    result = engine.feed("mx1", "worker", [v3(1, "INFO", "starting message unqueue"), v3(2, "WARN", "slow")])
    assert (result.first_seq, result.count) == (0, 2)
    assert len(engine.store) == 2
    assert engine.store.event(1).level == Level.WARN
    assert engine.store.event(1).host == "mx1"
    status = engine.hosts["mx1"]
    assert status.lines == 2
    assert status.last_line_at == EPOCH
    assert status.state == "live"
    assert engine.version > 0


def test_host_rate_uses_the_injected_clock() -> None:
    clock = FakeClock()
    engine = Engine(clock=clock)
    engine.feed("mx1", "smtp", [b"x"] * 50)
    assert engine.host_rates()["mx1"] == pytest.approx(50 / RATE_WINDOW_S)
    clock.now += RATE_WINDOW_S + 1
    assert engine.host_rates()["mx1"] == 0.0


def test_set_host_declares_and_changes_state() -> None:
    engine = Engine(clock=FakeClock())
    engine.set_host("mx9", "connecting")
    before = engine.version
    engine.set_host("mx9", "error: refused")
    assert engine.hosts["mx9"].state == "error: refused"
    assert engine.version == before + 1
    engine.set_host("mx9", "error: refused")
    assert engine.version == before + 1  # no change, no signal


async def test_queue_is_bounded_and_ingest_now_drains_in_order() -> None:
    engine = Engine(clock=FakeClock(), queue_size=2)
    assert engine.submit_nowait("mx1", "web", [b"a1", b"a2"])
    assert engine.submit_nowait("mx2", "web", [b"b1"])
    assert not engine.submit_nowait("mx1", "web", [b"c1"])  # full: refused, nothing lost silently
    assert engine.stats.queue_full_waits == 1
    assert engine.pending == 2
    assert engine.ingest_now() == 3
    assert [engine.store.raw(s) for s in range(3)] == [b"a1", b"a2", b"b1"]
    assert engine.pending == 0


async def test_submit_waits_for_room_then_run_ingests_everything() -> None:
    engine = Engine(clock=FakeClock(), queue_size=4, ingest_budget_lines=10)
    runner = asyncio.create_task(engine.run())
    try:
        for i in range(200):
            await engine.submit("mx1", "worker", [f"line {i} {j}".encode() for j in range(7)])
        await engine.drain()
    finally:
        runner.cancel()
    assert len(engine.store) == 1400
    assert engine.store.raw(1399) == b"line 199 6"
    assert engine.hosts["mx1"].lines == 1400


async def test_change_callbacks_are_coalesced_to_refresh_hz() -> None:
    engine = Engine(clock=FakeClock(), refresh_hz=10)
    calls: list[int] = []
    engine.subscribe(lambda: calls.append(engine.version))
    runner = asyncio.create_task(engine.run())
    try:
        for i in range(300):  # 300 separate ingests within a fraction of a second
            await engine.submit("mx1", "worker", [f"l{i}".encode()])
            await asyncio.sleep(0)
        await engine.drain()
        await asyncio.sleep(0.25)  # let the trailing publish fire
    finally:
        runner.cancel()
    assert 1 <= len(calls) <= 6, calls
    assert calls[-1] == engine.version  # the last state is always published


async def test_fact_listeners_see_every_ingest() -> None:
    engine = Engine(clock=FakeClock())
    results: list[IngestResult] = []
    unsubscribe = engine.on_facts(results.append)
    engine.feed(
        "mx1",
        "smtp",
        [b"2026-04-28 09:00:01 +0000 WARN   Authentication failure for 198.51.100.7 component=smtp-server"],
    )
    engine.feed("mx1", "smtp", [b"plain"])
    unsubscribe()
    engine.feed("mx1", "smtp", [b"after"])
    assert [r.count for r in results] == [1, 1]
    assert any(type(f).__name__ == "AuthFailure" for f in results[0].facts)


@dataclass
class Batch:
    groups: list[tuple[str, str, list[bytes]]]
    sim_time: float


async def test_run_batches_accepts_tuples_and_demo_batches() -> None:
    engine = Engine(clock=FakeClock())

    async def source() -> AsyncIterator[object]:
        yield ("mx1", "web", [b"one"])
        yield Batch([("mx2", "smtp", [b"two", b"three"]), ("mx3", "worker", [b"four"])], EPOCH + 60)

    await engine.run_batches(source(), state="demo")
    assert engine.hosts["mx2"].state == "demo"
    assert engine.ingest_now() == 4
    assert engine.sim_time == EPOCH + 60
    assert [engine.store.event(s).host for s in range(4)] == ["mx1", "mx2", "mx2", "mx3"]


def test_engine_module_does_not_import_textual() -> None:
    import subprocess
    import sys

    code = "import postaltop.engine, sys; print(any(m.split('.')[0] == 'textual' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_publish_metrics_keeps_latest_and_history_and_tells_listeners() -> None:
    from postaltop.core.dbmetrics import PollResult

    engine = Engine(clock=lambda: 100.0)
    seen: list[PollResult] = []
    unsubscribe = engine.on_metrics(seen.append)
    first = PollResult(started_at=1.0, duration=0.01, connected=True, status="ok")
    second = PollResult(started_at=6.0, duration=0.02, connected=False, status="unreachable: refused")
    before = engine.version
    engine.publish_metrics(first)
    engine.publish_metrics(second)
    assert engine.latest_metrics is second
    assert list(engine.metrics_history) == [first, second]
    assert seen == [first, second]
    assert engine.version == before + 2
    unsubscribe()
    engine.publish_metrics(first)
    assert seen == [first, second]

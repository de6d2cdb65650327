"""DemoSource: backfill at once, then real-time pacing by the clock, prompt cancellation."""

from __future__ import annotations

import asyncio

import pytest

from postaltop.core.sim import DEFAULT_START, HOST_COMPONENTS, Fleet
from postaltop.sources.demo import BACKFILL_SLICE, DemoBatch, DemoSource, group_lines


class FakeClock:
    """A clock that only moves when the test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def flatten(batches: list[DemoBatch]) -> dict[tuple[str, str], list[bytes]]:
    out: dict[tuple[str, str], list[bytes]] = {}
    for batch in batches:
        for host, component, lines in batch.groups:
            out.setdefault((host, component), []).extend(lines)
    return out


async def test_backfill_comes_at_once_and_matches_the_fleet() -> None:
    clock = FakeClock()
    source = DemoSource(Fleet(seed=3, volume=0.2), speed=60, backfill=300, clock=clock, tick=0.001)
    stream = source.batches()
    backfill: list[DemoBatch] = []
    async with asyncio.timeout(20):
        while len(backfill) < 300 / BACKFILL_SLICE:
            backfill.append(await anext(stream))
    assert all(b.backfill for b in backfill)
    assert [b.sim_time for b in backfill] == [DEFAULT_START + 60 * (i + 1) for i in range(5)]
    assert source.sim_time == DEFAULT_START + 300
    expected = Fleet(seed=3, volume=0.2).advance(DEFAULT_START + 300)
    assert flatten(backfill) == flatten([DemoBatch(DEFAULT_START + 300, group_lines(expected))])
    assert sum(b.line_count for b in backfill) == len(expected) > 1000
    for host, component, lines in backfill[0].groups:
        assert component in HOST_COMPONENTS[host]
        stamps = [line[:19] for line in lines if line[:1].isdigit()]  # skip continuations and stderr
        assert stamps == sorted(stamps)  # time order kept within each container
    await stream.aclose()


async def test_pacing_follows_the_clock_times_speed() -> None:
    clock = FakeClock()
    source = DemoSource(Fleet(seed=3, volume=0.2), speed=60, backfill=120, clock=clock, tick=0.001)
    stream = source.batches()
    async with asyncio.timeout(20):
        while (await anext(stream)).backfill and source.sim_time < DEFAULT_START + 120:
            pass
        live_from = DEFAULT_START + 120
        clock.now += 0.5
        batch = await anext(stream)
        assert not batch.backfill
        assert batch.sim_time == pytest.approx(live_from + 30)
        assert batch.line_count > 0
        clock.now += 0.1
        batch = await anext(stream)
        assert batch.sim_time == pytest.approx(live_from + 36)
    await stream.aclose()


async def test_a_stall_is_caught_up_in_bounded_slices() -> None:
    clock = FakeClock()
    source = DemoSource(Fleet(seed=1, volume=0.05), speed=1, backfill=60, clock=clock, tick=0.001)
    stream = source.batches()
    async with asyncio.timeout(20):
        assert (await anext(stream)).backfill
        clock.now += 600  # e.g. the laptop was suspended
        times = [(await anext(stream)).sim_time for _ in range(10)]
    assert times == [DEFAULT_START + 60 * (i + 2) for i in range(10)]
    await stream.aclose()


async def test_cancellation_stops_promptly() -> None:
    source = DemoSource(Fleet(seed=1, volume=0.2), speed=60, backfill=60, tick=0.01)
    seen: list[DemoBatch] = []

    async def consume() -> None:
        async for batch in source.batches():
            seen.append(batch)

    task = asyncio.create_task(consume())
    async with asyncio.timeout(20):
        while len(seen) < 3:
            await asyncio.sleep(0.01)
    task.cancel()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert loop.time() - started < 0.5
    assert seen[0].backfill and not seen[-1].backfill


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        DemoSource(Fleet(volume=0.01), speed=0)
    with pytest.raises(ValueError):
        DemoSource(Fleet(volume=0.01), tick=-1)

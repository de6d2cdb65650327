"""Paces the simulated fleet in real time: the source behind ``postaltop demo``.

At start the last ``backfill`` simulated seconds are emitted at once (in one-minute slices, giving
the event loop back between slices) so the panels are not empty; then, every ``tick`` real seconds,
the fleet is advanced to ``start + backfill + elapsed_real * speed``. Pacing follows the clock, not
the number of ticks, so a slow consumer makes batches larger instead of making the demo drift; a
long stall (a suspended laptop) is caught up in bounded slices so the loop never blocks for long.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from postaltop.core.sim import Fleet, SimLine

BACKFILL_SLICE = 60.0
"""Simulated seconds rendered per backfill batch."""


@dataclass(frozen=True, slots=True)
class DemoBatch:
    """Lines of one step, grouped per container, plus the simulated time the step reached."""

    sim_time: float
    """Simulated UNIX time up to which (exclusive) lines have been produced."""
    groups: tuple[tuple[str, str, list[bytes]], ...]
    """``(host, component, lines)`` in first-appearance order; lines keep their time order."""
    backfill: bool = False
    """True for the batches emitted at start-up, before real-time pacing begins."""

    @property
    def line_count(self) -> int:
        """Number of lines in all groups."""
        return sum(len(lines) for _, _, lines in self.groups)


def group_lines(lines: list[SimLine]) -> tuple[tuple[str, str, list[bytes]], ...]:
    """Group simulated lines per ``(host, component)``, preserving order within each group."""
    groups: dict[tuple[str, str], list[bytes]] = {}
    for item in lines:
        key = (item.host, item.component)
        bucket = groups.get(key)
        if bucket is None:
            bucket = groups[key] = []
        bucket.append(item.line)
    return tuple((host, component, bucket) for (host, component), bucket in groups.items())


class DemoSource:
    """An async source of :class:`DemoBatch` driven by a :class:`~postaltop.core.sim.Fleet`.

    Args:
        fleet: the simulation; it starts at ``fleet.position`` (its ``start`` when fresh).
        speed: simulated seconds per real second.
        backfill: simulated seconds emitted immediately at start.
        clock: real-time clock (seconds); injectable for tests.
        tick: real seconds between paced batches.

    Raises:
        ValueError: for a non-positive ``speed`` or ``tick``, or a negative ``backfill``.
    """

    def __init__(
        self,
        fleet: Fleet,
        *,
        speed: float = 1.0,
        backfill: float = 900.0,
        clock: Callable[[], float] = time.time,
        tick: float = 0.1,
    ) -> None:
        if speed <= 0 or tick <= 0 or backfill < 0:
            raise ValueError("speed and tick must be positive and backfill not negative")
        self.fleet = fleet
        self.speed = speed
        self.backfill = backfill
        self.tick = tick
        self._clock = clock
        self._max_step = max(BACKFILL_SLICE, tick * speed * 10)

    @property
    def sim_time(self) -> float:
        """Simulated time reached so far."""
        return self.fleet.position

    async def batches(self) -> AsyncGenerator[DemoBatch, None]:
        """Yield the backfill, then one batch per tick, forever (until cancelled).

        A tick in which simulated time moved yields a batch even when no line was produced (no
        groups), so consumers see ``sim_time`` move; a tick in which the clock did not move yields
        nothing.
        """
        fleet = self.fleet
        live_from = fleet.position + self.backfill
        real_start = self._clock()
        while fleet.position < live_from:
            until = min(live_from, fleet.position + BACKFILL_SLICE)
            batch = DemoBatch(until, group_lines(fleet.advance(until)), backfill=True)
            # Real time starts counting when the backfill is ready, not when it is consumed.
            real_start = self._clock()
            yield batch
            await asyncio.sleep(0)
        while True:
            await asyncio.sleep(self.tick)
            target = live_from + (self._clock() - real_start) * self.speed
            while fleet.position < target:
                # Bounded slices: after a stall, catch up without blocking the loop for seconds.
                until = min(target, fleet.position + self._max_step)
                yield DemoBatch(until, group_lines(fleet.advance(until)))
                if until < target:
                    await asyncio.sleep(0)

"""The demo's metrics source: poll results from the simulated fleet, paced like the database poll.

Every ``interval`` seconds of simulated time (but not more often than ``min_real_gap`` real seconds, so
a fast demo does not flood the UI) the fleet's counters are turned into a
:class:`~postaltop.core.dbmetrics.PollResult` (see :mod:`postaltop.core.sim.metrics`) and handed to the
engine. The first results cover the demo's backfill minute by minute. No Textual here: the TUI and a
headless front end both use :func:`demo_metrics_runner`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any, Protocol

from postaltop.core.connect_state import ConnectRequest, ConnectState
from postaltop.core.dbmetrics import HistoryPoint, PollResult
from postaltop.core.sim import Fleet
from postaltop.core.sim.metrics import SimMetrics, connect_state, synthetic_history

DEFAULT_INTERVAL = 5.0
"""Simulated seconds between polls (the database source's default ``poll_interval``)."""


class MetricsSink(Protocol):
    """What the runner needs of the engine."""

    def publish_metrics(self, result: PollResult) -> None:
        """Record one poll result."""


class DemoMetricsSource:
    """Poll results of a running :class:`~postaltop.core.sim.Fleet`.

    Args:
        fleet: the simulation another source advances (the demo's log source).
        speed: simulated seconds per real second (decides how often to look).
        interval: simulated seconds between polls.
        min_real_gap: fewest real seconds between polls.
        top_domains: recipient domains reported per server.
        clock: real clock (only the result's ``duration`` uses it).

    Raises:
        ValueError: for a non-positive speed or interval.
    """

    def __init__(
        self,
        fleet: Fleet,
        *,
        speed: float = 1.0,
        interval: float = DEFAULT_INTERVAL,
        min_real_gap: float = 0.25,
        top_domains: int = 10,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if speed <= 0 or interval <= 0:
            raise ValueError("speed and interval must be positive")
        self.fleet = fleet
        self.metrics = SimMetrics(fleet, top_domains=top_domains)
        self.interval = interval
        self.tick = max(min_real_gap, min(1.0, interval / speed))
        self._clock = clock
        self._started = False

    def poll_now(self) -> list[PollResult]:
        """The results due at the fleet's current position (the backfill minutes first, once)."""
        position = self.fleet.position
        results: list[PollResult] = []
        if not self._started:
            self._started = True
            results.extend(self.metrics.catch_up(position))
        if position - self.metrics.last_poll_at >= self.interval or not results:
            began = self._clock()
            result = self.metrics.poll(position)
            results.append(replace(result, duration=max(0.0, self._clock() - began)))
        return results

    async def results(self) -> AsyncIterator[PollResult]:
        """Yield poll results forever (until cancelled), as simulated time passes."""
        while True:
            if self.fleet.position - self.metrics.last_poll_at >= self.interval or not self._started:
                for result in self.poll_now():
                    yield result
            await asyncio.sleep(self.tick)

    def history(self, weeks: int = 4) -> list[HistoryPoint]:
        """Hourly and daily statistics of the ``weeks`` weeks before the current simulated time."""
        return synthetic_history(self.fleet, self.fleet.position, weeks)

    def connect_state(self, request: ConnectRequest) -> ConnectState:
        """The simulated database's answer to the state-at-connect request (see ``sim.metrics``)."""
        return connect_state(self.fleet, request)


async def demo_metrics_runner(
    engine: MetricsSink,
    fleet: Fleet,
    speed: float,
    *,
    interval: float = DEFAULT_INTERVAL,
    source: DemoMetricsSource | None = None,
    live_from: float | None = None,
) -> None:
    """Publish the fleet's poll results to ``engine`` forever (a TUI worker or a headless task).

    Args:
        engine: receives every result (``Engine.publish_metrics``).
        fleet: the simulation the log source advances.
        speed: simulated seconds per real second.
        interval: simulated seconds between polls.
        source: a prepared source (tests); built from the other arguments when None.
        live_from: simulated time at which the log source's backfill ends; the first results (one per
            backfill minute) wait for it. When None, the first poll waits until the fleet has moved.
    """
    source = source or DemoMetricsSource(fleet, speed=speed, interval=interval)
    target = fleet.position + 1e-9 if live_from is None else live_from
    while fleet.position < target:
        await asyncio.sleep(0.05)
    async for result in source.results():
        engine.publish_metrics(result)


class StateMonitor(Protocol):
    """What :func:`attach_simulated_database` needs of ``postaltop.monitoring.Monitor``."""

    def set_state_provider(self, provider: Callable[[ConnectRequest], Any]) -> None: ...


def attach_simulated_database(monitor: StateMonitor, fleet: Fleet) -> None:
    """Let a demo's detection ask the simulated database for the state at connect, as a real one is asked.

    The monitor calls it at the first poll (the same request ``PostalDbSource.connect_state`` answers).
    """
    monitor.set_state_provider(lambda request: connect_state(fleet, request))

"""Run the Postal database source (and its optional SSH tunnel) into the engine.

Used by the TUI's live monitor and any headless front end: :func:`db_runner` returns a
:class:`DbRunner` (or None when no ``[database]`` is configured) whose :meth:`DbRunner.run` coroutine
polls forever, hands every :class:`~postaltop.core.dbmetrics.PollResult` to
``engine.publish_metrics`` and keeps a ``db`` entry in the engine's host list whose state says how the
database is doing (the host bar shows it). :meth:`DbRunner.connect_state` reads the statistics, the
recent past per minute and the credentials' history; the runtime (:mod:`postaltop.runtime`) hands it to the
detection monitor, which asks for it at first connect (baselines, novelty, and an incident already under way).
Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any, Protocol

from postaltop.config import Settings
from postaltop.core.connect_state import ConnectRequest, ConnectState
from postaltop.core.dbmetrics import HistoryPoint, PollResult
from postaltop.sources.db_connect import connector_for
from postaltop.sources.db_tunnel import DbTunnel
from postaltop.sources.health_metrics import HealthMonitor, health_monitor
from postaltop.sources.postal_db import PostalDbSource

DB_HOST_NAME = "db"
"""The name of the database's entry in the engine's host list."""


class MetricsEngine(Protocol):
    """What the runner needs of :class:`~postaltop.engine.Engine`."""

    def publish_metrics(self, result: PollResult) -> None:
        """Record one poll result."""

    def set_host(self, name: str, state: str) -> Any:
        """Declare a host or change its state text."""


def state_text(result: PollResult) -> str:
    """The short state the host bar shows for the database after ``result``.

    ``connected · 5 servers``, ``degraded: message database missing (1)``, ``degraded: 2 problem(s)`` (some
    servers unreadable or stale), ``error: not answering (12 s): …``, ``error: unreachable (connection
    refused): …``, ``error: auth failed: …``, ``error: unreachable …`` (with the retry delay) or ``error: …``
    (the main database refused us).
    """
    if not result.connected:
        retry = ""
        if result.retry_in is not None and "retrying" not in result.status:
            retry = f" (retrying in {result.retry_in:.0f} s)"
        return f"error: {result.status}{retry}"
    if result.errors and not result.samples:
        return f"error: {result.errors[0]}"
    if result.errors and result.state == "missing-message-db":
        return f"degraded: message database missing ({len(result.errors)})"
    if result.errors:
        return f"degraded: {len(result.errors)} problem(s)"
    return f"connected · {len(result.servers)} servers"


class DbRunner:
    """The database source, its tunnel, and the loop that feeds the engine."""

    def __init__(
        self,
        source: PostalDbSource,
        engine: MetricsEngine,
        tunnel: DbTunnel | None = None,
        health: HealthMonitor | None = None,
    ) -> None:
        self.source = source
        self.engine = engine
        self.tunnel = tunnel
        self.health = health
        """Scrapes the hosts' health-server metrics beside the poll; attached to every result."""

    async def run(self) -> None:
        """Poll forever (until cancelled); never raises for database problems."""
        where = f" {self.tunnel.describe()}" if self.tunnel is not None else ""
        self.engine.set_host(DB_HOST_NAME, f"connecting{where}")
        scraper: asyncio.Task[None] | None = None
        if self.health is not None:
            scraper = asyncio.create_task(self.health.run(self.source.config.poll_interval))
        try:
            async for result in self.source.samples():
                if self.health is not None:
                    result = replace(result, health=self.health.latest())
                self.engine.publish_metrics(result)
                self.engine.set_host(DB_HOST_NAME, state_text(result))
        finally:
            if scraper is not None:
                scraper.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await scraper
            await self.close()

    async def connect_state(self, request: ConnectRequest) -> ConnectState:
        """The recent past and the history detection reads at first connect (connects first when needed)."""
        if not self.source.connected:
            await self.source.connect()
        return await self.source.connect_state(request)

    async def history(self, weeks: int = 4) -> list[HistoryPoint]:
        """Hourly and daily statistics of every live server (connects first when needed)."""
        if not self.source.connected:
            await self.source.connect()
        return await self.source.history(weeks)

    async def close(self) -> None:
        """Close the pool and the tunnel."""
        with contextlib.suppress(Exception):
            await self.source.close()
        if self.tunnel is not None:
            with contextlib.suppress(Exception):
                await self.tunnel.close()


def db_runner(settings: Settings, engine: MetricsEngine) -> DbRunner | None:
    """The runner for ``settings.database``; None when no database is configured.

    With ``ssh_tunnel`` set, the pool connects through a local port forward on that host (the
    configuration loader has checked that the host exists).
    """
    config = settings.database
    if config is None:
        return None
    connector = connector_for(settings)
    source = PostalDbSource(config, connector=connector)
    return DbRunner(source, engine, connector.tunnel, _health(settings))


def _health(settings: Settings) -> HealthMonitor | None:
    if not any(h.metrics for h in settings.hosts):
        return None
    from postaltop.sources.log_runner import ssh_options

    return health_monitor(settings.hosts, ssh_options(settings))


HEALTH_ONLY_INTERVAL = 5.0
"""Seconds between health scrapes when no database is configured."""


async def run_health_only(monitor: HealthMonitor, engine: MetricsEngine, interval: float) -> None:
    """Without a database: publish the health metrics alone (a result with no servers) every ``interval``."""

    def publish(samples: tuple[Any, ...]) -> None:
        engine.publish_metrics(
            PollResult(
                started_at=time.time(),
                duration=0.0,
                connected=False,
                status="no [database] configured",
                health=samples,
            )
        )

    await monitor.run(interval, publish)


def db_sources(settings: Settings, engine: MetricsEngine) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    """Coroutine factories to run for the database and the hosts' health metrics (may be empty)."""
    runner = db_runner(settings, engine)
    if runner is not None:
        return [runner.run]
    monitor = _health(settings)
    if monitor is None:
        return []
    return [lambda: run_health_only(monitor, engine, HEALTH_ONLY_INTERVAL)]

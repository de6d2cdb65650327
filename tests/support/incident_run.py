"""Run postaltop's real database path (runner, source, monitor) on a built installation; time the alerts.

Shared by ``tests/db/test_detect_incidents.py`` and ``bench/detect_db.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from postaltop.config import DatabaseConfig, Settings
from postaltop.config.sections.detection import DetectionConfig
from postaltop.core.alerts import Alert, AlertEvent, ScopeKind, Severity, Transition
from postaltop.core.dbmetrics import PollResult
from postaltop.engine import Engine
from postaltop.monitoring import Monitor
from postaltop.runtime import build_monitor
from postaltop.sources.db_runner import DbRunner, db_runner
from tests.support import mysql
from tests.support.incident_db import Incident, PostalWriter, Server


@dataclass
class Fired:
    """One alert that fired, when, and after how many poll results."""

    alert: Alert
    polls: int
    """Poll results published when it fired (the first connected poll is 1)."""
    seconds: float
    """Wall-clock seconds since the runner started."""
    wall: float
    """Epoch seconds when it fired."""


@dataclass
class Watch:
    """A running postaltop database path and what it raised."""

    engine: Engine
    monitor: Monitor
    runner: DbRunner
    started: float
    polls: int = 0
    fired: list[Fired] = field(default_factory=list)
    events: list[AlertEvent] = field(default_factory=list)
    """Every alert transition, in order."""
    results: list[PollResult] = field(default_factory=list)

    first_poll_seconds: float | None = None
    """Seconds from starting the runner to the first connected poll result (no alert can come earlier)."""

    def on_result(self, result: PollResult) -> None:
        if result.connected:
            self.polls += 1
            if self.first_poll_seconds is None:
                self.first_poll_seconds = time.monotonic() - self.started
        self.results.append(result)

    def on_alert(self, event: AlertEvent) -> None:
        self.events.append(event)
        if event.transition in (Transition.FIRED, Transition.ESCALATED):
            self.fired.append(Fired(event.alert, self.polls, time.monotonic() - self.started, time.time()))

    def first(self, match: Callable[[Alert], bool], severity: Severity | None = None) -> Fired | None:
        """The first fired alert matching ``match`` (and ``severity`` when given)."""
        for f in self.fired:
            if match(f.alert) and (severity is None or f.alert.severity is severity):
                return f
        return None

    async def until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``done()`` (True) or ``timeout`` seconds (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return True
            await asyncio.sleep(0.05)
        return done()


@contextlib.asynccontextmanager
async def watching(config: DatabaseConfig, detection: DetectionConfig | None = None, **source: Any) -> Any:
    """Start the runner + monitor as the live runtime wires them (baselines in memory); yield a Watch."""
    engine = Engine(retained_lines=100)
    runner = db_runner(Settings(database=config), engine)
    assert runner is not None
    for name, value in source.items():
        setattr(runner.source, name, value)
    monitor = build_monitor(detection or DetectionConfig())
    monitor.attach(engine)
    monitor.set_state_provider(runner.connect_state)
    watch = Watch(engine, monitor, runner, time.monotonic())
    engine.on_metrics(watch.on_result)
    monitor.on_alert(watch.on_alert)
    task = asyncio.create_task(runner.run())
    try:
        yield watch
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.contextmanager
def installation_db(
    target: mysql.MysqlTarget, servers: list[Server], incidents: list[Incident], **options: Any
) -> Iterator[tuple[PostalWriter, DatabaseConfig]]:
    """Build an installation under a fresh prefix (dropped on exit); yield its writer and a config."""
    with mysql.prefix_scope(target) as prefix:
        conn = mysql.connect(target)
        try:
            writer = PostalWriter(conn, prefix, servers, time.time(), **options)
            writer.build(incidents)
            yield writer, mysql.database_config(target, prefix, poll_interval=5.0)
        finally:
            conn.close()


def on_scope(kind: ScopeKind, key: str, detectors: tuple[str, ...] = ()) -> Callable[[Alert], bool]:
    """A matcher: an alert about ``kind:key`` (from one of ``detectors`` when given)."""

    def match(alert: Alert) -> bool:
        if alert.scope.kind is not kind or alert.scope.key != key:
            return False
        return not detectors or alert.kind in detectors

    return match

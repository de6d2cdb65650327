"""The database runner feeds the real engine: poll results, the ``db`` host state, history."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from postaltop.config import DatabaseConfig, LoadedSettings, Settings
from postaltop.engine import Engine
from postaltop.runtime import Runtime, RuntimeOptions, build_runtime
from postaltop.sources.db_runner import DB_HOST_NAME, db_runner, db_sources
from tests.support.postal_builder import Dataset

pytestmark = pytest.mark.mysql


async def wait_for_state(engine: Engine, prefix: str, timeout: float = 15.0) -> str:
    async with asyncio.timeout(timeout):
        while True:
            status = engine.hosts.get(DB_HOST_NAME)
            if status is not None and status.state.startswith(prefix):
                return status.state
            await asyncio.sleep(0.02)


async def test_runner_publishes_poll_results_and_state(db_config: DatabaseConfig, dataset: Dataset) -> None:
    engine = Engine(retained_lines=100)
    runner = db_runner(Settings(database=db_config), engine)
    assert runner is not None and runner.tunnel is None
    task = asyncio.create_task(runner.run())
    try:
        state = await wait_for_state(engine, "degraded")  # acme/ghost has no message database
        assert state == "degraded: message database missing (1)"
        latest = engine.latest_metrics
        assert latest is not None and latest.connected and "acme/ghost" in latest.errors[0]
        assert {s.full_permalink for s in latest.servers} >= {"acme/main", "acme/ghost"}
        history = await runner.history(weeks=4)
        hourly = [p for p in history if p.server_id == 1 and p.granularity == "hour"]
        assert len(hourly) > 24 * 7
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert not runner.source.connected


async def test_unreachable_database_shows_an_error_state(db_config: DatabaseConfig) -> None:
    engine = Engine(retained_lines=100)
    config = db_config.model_copy(update={"port": 1})
    runner = db_runner(Settings(database=config), engine)
    assert runner is not None
    task = asyncio.create_task(runner.run())
    try:
        state = await wait_for_state(engine, "error")
        assert "unreachable" in state and state.count("retrying in") == 1
        assert engine.latest_metrics is not None and not engine.latest_metrics.connected
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_no_database_section_runs_nothing() -> None:
    assert db_sources(Settings(), Engine(retained_lines=10)) == []


def live_runtime(settings: Settings) -> Runtime:
    """The live run as ``postaltop`` and ``watch`` build it (baselines persist under the test's XDG dirs)."""
    loaded = LoadedSettings(settings, None, Path("config.toml"))
    return build_runtime(loaded, RuntimeOptions(mode="live", persist_filters=False))


async def test_first_poll_bootstraps_server_baselines_from_postal_stats(
    db_config: DatabaseConfig, dataset: Dataset
) -> None:
    from postaltop.core.alerts import Scope, ScopeKind

    runtime = live_runtime(Settings(database=db_config))
    engine, monitor = runtime.engine, runtime.monitor
    assert monitor is not None and monitor.has_state_provider  # the runtime wired the state at connect
    scope = Scope(ScopeKind.SERVER, "acme/main")
    assert monitor.baselines.expect(scope, "sent", dataset.now).learning  # nothing known before connecting
    (database,) = [s for s in runtime.sources if s.name == "database"]
    task = asyncio.create_task(database.run())
    try:
        await wait_for_state(engine, "degraded")
        async with asyncio.timeout(30):
            while monitor._bootstrap_task is None:  # created by the first connected poll
                await asyncio.sleep(0.02)
            await monitor.history_loaded()
        assert monitor.state_error is None and monitor.bootstrapped
        assert monitor.connect_state is not None and monitor.connect_state.backfill is not None
        expectation = monitor.baselines.expect(scope, "sent", dataset.now)
        assert not expectation.learning and expectation.median > 0 and expectation.samples >= 3
        # a server with no message database (acme/ghost) has no history: it stays learning, no error
        assert monitor.baselines.expect(Scope(ScopeKind.SERVER, "acme/ghost"), "sent", dataset.now).learning
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        runtime.stop()


async def test_detection_disabled_builds_no_monitor_and_the_poll_still_runs(
    db_config: DatabaseConfig, dataset: Dataset
) -> None:
    from postaltop.config.sections.detection import DetectionConfig

    runtime = live_runtime(Settings(database=db_config, detection=DetectionConfig(enabled=False)))
    assert runtime.monitor is None
    (database,) = [s for s in runtime.sources if s.name == "database"]
    task = asyncio.create_task(database.run())
    try:
        await wait_for_state(runtime.engine, "degraded")
        assert runtime.engine.latest_metrics is not None and runtime.engine.latest_metrics.connected
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

"""Build a :class:`~postaltop.runtime.runtime.Runtime` from the settings and the mode: the one assembly.

``live``: the configured hosts' SSH log streams, the database poll (or the hosts' health metrics alone),
incident actions and the message lookup on the configured database, baselines and alert state persisted.
``demo``: the simulated fleet's lines and polls, actions on the simulation. ``replay``: a recording fed at
the replay clock, the monitor given the state at connect the recorded run's monitor read.
Every mode builds the same :class:`~postaltop.monitoring.Monitor` from ``[detection]``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from postaltop.config import LoadedSettings, Settings
from postaltop.engine import Engine
from postaltop.recording.replay import ReplayController
from postaltop.runtime.actions import database_actions, demo_actions
from postaltop.runtime.detection import DetectionSeeds, build_monitor, seed_from_recording
from postaltop.runtime.filters import FileFilterHistory
from postaltop.runtime.runtime import Mode, NamedSource, Runtime, SourceTask

if TYPE_CHECKING:
    from postaltop.sources.message_lookup import LazyLookup

DEMO_BACKFILL_S = 600.0
"""Simulated seconds the demo emits at start (about 80k lines of normal traffic)."""
NOT_CONNECTED = "not connected yet"
"""A configured host's state until its log stream connects."""


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    """What to run (the settings say how)."""

    mode: Mode = "live"
    scenario: str = "normal"
    seed: int = 1
    speed: float = 1.0
    """Simulated seconds per real second (demo)."""
    record: Path | None = None
    """Record every input to this file (``postaltop replay`` opens it)."""
    recorded_by: str = "tui"
    retained_lines: int | None = None
    """Lines the engine keeps (default: ``[ui] retained_lines``)."""
    replay: ReplayController | None = None
    """The replay clock and feed (replay mode)."""
    persist_filters: bool = True


def build_runtime(loaded: LoadedSettings, options: RuntimeOptions) -> Runtime:
    """The engine, monitor, sources, stores and actions for ``options.mode``, not started yet."""
    settings = loaded.settings
    clock = options.replay.now if options.replay is not None else time.time
    engine = Engine(
        retained_lines=options.retained_lines or settings.ui.retained_lines,
        refresh_hz=settings.ui.refresh_hz,
        clock=clock,
    )
    detection = settings.detection
    monitor = build_monitor(detection, persist=options.mode == "live") if detection.enabled else None
    runtime = Runtime(loaded, options.mode, engine, label="monitor", monitor=monitor)
    if monitor is not None:
        monitor.attach(engine)
        runtime.seeds = DetectionSeeds(monitor)
    runtime.record_path = options.record
    runtime.record_meta = {"mode": options.mode, "recorded_by": options.recorded_by}
    if options.persist_filters and options.mode != "replay":
        runtime.filters = FileFilterHistory()
    if options.mode == "demo":
        _demo(runtime, options)
    elif options.mode == "replay":
        _replay(runtime, options)
    else:
        _live(runtime)
    return runtime


def _live(runtime: Runtime) -> None:
    settings: Settings = runtime.settings
    engine = runtime.engine
    for host in settings.hosts:
        engine.set_host(host.name, NOT_CONNECTED)
    if settings.hosts:
        from postaltop.sources.log_runner import engine_runner

        runtime.log_runner = engine_runner(settings, engine)
        runtime.sources.append(NamedSource("logs", runtime.log_runner.run))
        runtime.placeholder = "Waiting for log lines from the configured hosts…"
    else:
        runtime.placeholder = "No [[hosts]] are configured: add one to stream Postal's logs over SSH."
    if settings.hosts and runtime.monitor is not None:
        runtime.sources.append(NamedSource("auth-history", _live_auth_history(runtime)))
    from postaltop.sources.db_runner import db_runner, db_sources

    runner = db_runner(settings, engine)
    if runner is not None:
        runtime.sources.append(NamedSource("database", runner.run))
        if runtime.seeds is not None:
            runtime.seeds.set_state_provider(runner.connect_state)
    else:  # without a database: the hosts' health metrics alone, when configured
        runtime.sources += [NamedSource("health", factory) for factory in db_sources(settings, engine)]
    runtime.message_lookup = database_lookup(settings)
    runtime.actions = database_actions(settings)


def database_lookup(settings: Settings) -> LazyLookup | None:
    """The message lookup on the configured database (None without a ``[database]``)."""
    if settings.database is None:
        return None
    from postaltop.sources.db_connect import connector_for
    from postaltop.sources.message_lookup import LazyLookup

    return LazyLookup(settings.database, connector_for(settings))


def _demo(runtime: Runtime, options: RuntimeOptions) -> None:
    from postaltop.core.sim import Fleet
    from postaltop.core.versions import demo_host_versions
    from postaltop.sources.demo import DemoSource
    from postaltop.sources.demo_metrics import attach_simulated_database, demo_metrics_runner
    from postaltop.sources.host_version import load_release_table

    settings: Settings = runtime.settings
    engine = runtime.engine
    runtime.label = f"demo · {options.scenario} · seed {options.seed}"
    runtime.record_meta.update(scenario=options.scenario, seed=options.seed, speed=options.speed)
    # The simulation starts DEMO_BACKFILL_S in the past so the panel opens with recent history
    # and simulated time then runs alongside real time.
    fleet = Fleet(seed=options.seed, scenario=options.scenario, start=time.time() - DEMO_BACKFILL_S)
    source = DemoSource(fleet, speed=options.speed, backfill=DEMO_BACKFILL_S, clock=time.time)
    for host in fleet.hosts:
        engine.set_host(host, "demo")
    if runtime.seeds is not None:
        attach_simulated_database(runtime.seeds, fleet)
    live_from = fleet.start + DEMO_BACKFILL_S

    async def logs() -> None:
        await engine.run_batches(source.batches(), state="demo")

    async def metrics() -> None:
        await demo_metrics_runner(engine, fleet, options.speed, live_from=live_from)

    runtime.sources += [NamedSource("demo-logs", logs), NamedSource("demo-metrics", metrics)]
    if runtime.monitor is not None:
        runtime.sources.append(
            NamedSource("demo-auth-history", _demo_auth_history(runtime, options, fleet.start))
        )
    runtime.actions = demo_actions(fleet, settings.actions)
    table = load_release_table(settings.review.releases_file)
    runtime.host_versions = {v.host: v.status.short() for v in demo_host_versions(table)}
    runtime.fleet = fleet


def _history_seconds(runtime: Runtime) -> float:
    """How much SMTP authentication history the client-network detector needs: its learning period."""
    assert runtime.monitor is not None
    return float(runtime.monitor.signals.clients.settings.learn_for)


def _learn_auth_history(runtime: Runtime, groups: list[tuple[str, str, list[bytes]]]) -> None:
    """The detector learns the read-back, which the recording keeps for the replay."""
    from postaltop.sources.auth_history import auth_facts

    assert runtime.monitor is not None
    learnt = runtime.monitor.signals.learn_history(auth_facts(groups))
    runtime.auth_history = (learnt, list(runtime.auth_history[1]) if runtime.auth_history else [])
    if runtime.recorder is not None:
        runtime.recorder.auth_history(groups)


def _live_auth_history(runtime: Runtime) -> SourceTask:
    """Read back the hosts' authentication lines of the learning period; the detector learns them."""

    async def run() -> None:
        from postaltop.sources.auth_history import read_auth_history

        try:
            groups, problems = await read_auth_history(runtime.settings, f"{_history_seconds(runtime):.0f}s")
            runtime.auth_history = (0, problems)
            _learn_auth_history(runtime, groups)
        except Exception as exc:  # the detector then learns from the live streams alone
            runtime.auth_history = (0, [f"{type(exc).__name__}: {exc}"])
        await _park()

    return run


def _demo_auth_history(runtime: Runtime, options: RuntimeOptions, before: float) -> SourceTask:
    """The demo's hosts answer the same read-back from the simulator's lines of the hour before it started."""

    async def run() -> None:
        from postaltop.sources.auth_history import demo_auth_lines

        stop = threading.Event()
        try:
            groups = await asyncio.to_thread(
                demo_auth_lines, options.seed, before, _history_seconds(runtime), stop
            )
        finally:
            stop.set()  # cancelled (the run stops): the thread ends within a simulated minute
        _learn_auth_history(runtime, groups)
        await _park()

    return run


async def _park() -> None:
    """A one-shot source, once done, waits for the run to stop: ``watch`` ends when a source returns."""
    await asyncio.Event().wait()


def _replay(runtime: Runtime, options: RuntimeOptions) -> None:
    controller = options.replay
    if controller is None:
        raise ValueError("replay mode needs the replay controller")
    recording = controller.recording
    runtime.label = "replay · " + recording.path.name
    if recording.meta.get("scenario"):
        runtime.label += f" · {recording.meta['scenario']}"
    runtime.placeholder = "Replaying: lines appear as the recording's time comes."
    if runtime.monitor is not None:
        seed_from_recording(runtime.monitor, recording.connect_state())
        signals = runtime.monitor.signals

        def learn(groups: tuple[tuple[str, str, tuple[bytes, ...]], ...]) -> None:
            from postaltop.sources.auth_history import auth_facts

            signals.learn_history(auth_facts((h, c, list(lines)) for h, c, lines in groups))

        controller.on_auth_history = learn
    engine = runtime.engine

    async def feed() -> None:
        await controller.run(engine)

    runtime.sources.append(NamedSource("replay", feed))
    runtime.replay = controller

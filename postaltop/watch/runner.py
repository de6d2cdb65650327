"""The headless run: sources -> engine -> detectors -> notifications, metrics endpoint and recording.

Every piece is the one the TUI uses (the engine, the demo and SSH sources, the detectors and the alert
lifecycle); only the front end differs: JSON logs on stderr instead of screens. SIGTERM and SIGINT stop it
cleanly: the sources stop, queued notifications get a few seconds to go out (the rest are dead-lettered), the
recording is finished, and the exit status is 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postaltop.config import LoadedSettings
from postaltop.engine import Engine
from postaltop.metrics_export import MetricsExporter
from postaltop.notify.dispatcher import Dispatcher
from postaltop.notify.event import NotificationEvent
from postaltop.notify.secrets import SecretError
from postaltop.recording.file import Recorder
from postaltop.watch.jsonlog import JsonLogger
from postaltop.watch.source_events import SourceStateLog

WATCH_RETAINED_LINES = 200_000
"""Lines kept in memory headless (nobody scrolls back; detection sees every line anyway)."""

DEMO_BACKFILL_S = 600.0
"""Simulated seconds emitted at start in demo mode (as ``postaltop demo`` does)."""

FLUSH_TIMEOUT_S = 5.0
"""Seconds queued notifications get at shutdown before they are dead-lettered."""


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """What ``postaltop watch`` was asked to do."""

    demo: bool = False
    scenario: str = "normal"
    seed: int = 1
    speed: float = 1.0
    metrics_address: str | None = "127.0.0.1:9464"
    record: Path | None = None
    tick: float = 1.0
    """Seconds between housekeeping passes (repeat notifications, metrics snapshot, recording flush)."""


class AlertFeed:
    """Alert transitions from the detectors, fanned out to the dispatcher, the recording and the metrics."""

    def __init__(self, dispatcher: Dispatcher, log: JsonLogger, recorder: Recorder | None) -> None:
        self.dispatcher = dispatcher
        self.log = log
        self.recorder = recorder
        self.firing: dict[str, str] = {}
        """Open alert key -> severity."""

    def __call__(self, event: NotificationEvent) -> None:
        """Take one transition."""
        if event.firing:
            self.firing[event.key] = event.severity
        else:
            self.firing.pop(event.key, None)
        if self.recorder is not None:
            self.recorder.alert(event)
        news = self.dispatcher.submit(event)
        if news:
            self.log.log(
                "alert",
                "warning" if event.firing else "info",
                key=event.key,
                status=event.status,
                severity=event.severity,
                title=event.title,
                scope=event.scope,
                observed=event.observed,
                expected=event.expected,
            )

    def open_by_severity(self) -> dict[str, int]:
        """Firing alerts per severity."""
        counts: dict[str, int] = {}
        for severity in self.firing.values():
            counts[severity] = counts.get(severity, 0) + 1
        return counts


def attach_detection(
    engine: Engine,
    settings: Any,
    feed: Callable[[NotificationEvent], None],
    *,
    persist: bool = False,
) -> Any | None:
    """Run the detectors and the alert lifecycle (the engine's ``postaltop.monitoring`` monitor).

    Args:
        engine: the pipeline.
        settings: the whole settings (its ``detection`` section tunes the detectors).
        feed: receives every notifiable transition.
        persist: keep baselines, silences and acknowledgements in the state stores the TUI uses (live
            mode; the demo keeps them in memory).

    Returns:
        The monitor, or None when detection is disabled or not part of this build.
    """
    try:
        monitoring = importlib.import_module("postaltop.monitoring")
    except ImportError:
        return None
    from postaltop.notify.from_alert import notification_for

    detection = getattr(settings, "detection", None)
    if detection is not None and not getattr(detection, "enabled", True):
        return None
    stores: dict[str, Any] = {}
    if persist:
        from postaltop.store.alert_state import AlertStateStore
        from postaltop.store.baselines import BaselineStore

        stores = {"baseline_store": BaselineStore(), "alert_store": AlertStateStore()}
    monitor = monitoring.monitor_for(engine, detection, **stores)

    def on_alert(alert_event: Any) -> None:
        note = notification_for(alert_event)
        if note is not None:
            feed(note)

    monitor.on_alert(on_alert)
    return monitor


async def run_watch(loaded: LoadedSettings, options: WatchOptions, log: JsonLogger) -> int:
    """Run until SIGTERM/SIGINT; returns the exit status (0, or 2 for a configuration problem)."""
    from postaltop.notify.setup import build_dispatcher

    settings = loaded.settings
    store = open_incident_store(loaded, options, log)
    try:
        dispatcher = build_dispatcher(settings.notify, log=log, store=store)
    except SecretError as exc:
        log.log("config_error", "error", error=str(exc))
        return 2
    if dispatcher.stats.restored:
        log.log("incidents_restored", count=dispatcher.stats.restored, grace=settings.notify.restore_grace)
    if not options.demo and not settings.hosts and settings.database is None:
        problem = "nothing to watch: configure [[hosts]] or [database], or use --demo"
        log.log("config_error", "error", error=problem)
        return 2
    engine = Engine(retained_lines=WATCH_RETAINED_LINES, refresh_hz=settings.ui.refresh_hz)
    exporter = MetricsExporter(engine, top_domains=settings.database.top_domains if settings.database else 10)
    exporter.attach()
    exporter.notifications = lambda: _notification_counts(dispatcher)
    if options.metrics_address:
        try:
            host, port = exporter.serve(options.metrics_address)
        except (OSError, ValueError) as exc:
            problem = f"cannot serve metrics on {options.metrics_address}: {exc}"
            log.log("config_error", "error", error=problem)
            return 2
        log.log("metrics_listening", address=f"{host}:{port}")
    recorder: Recorder | None = None
    if options.record is not None:
        try:
            recorder = Recorder(options.record, meta=_meta(options))
        except OSError as exc:
            exporter.close()
            problem = f"cannot record to {options.record}: {exc.strerror or exc}"
            log.log("config_error", "error", error=problem)
            return 2
        recorder.attach(engine)
    feed = AlertFeed(dispatcher, log, recorder)
    fleet = demo_fleet(options) if options.demo else None
    monitor = attach_detection(engine, settings, feed, persist=not options.demo)
    if monitor is not None and fleet is not None:
        from postaltop.sources.demo_metrics import attach_simulated_database

        attach_simulated_database(monitor, fleet)
    if monitor is None:
        log.log("detection_unavailable", "warning", reason="postaltop.monitoring is not part of this build")
    sources = demo_sources(engine, fleet, options) if fleet is not None else None
    if sources is None:
        sources = live_sources(loaded, engine, log)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.log(
        "started",
        mode="demo" if options.demo else "live",
        scenario=options.scenario if options.demo else None,
        speed=options.speed,
        channels=[c.name for c in dispatcher.channels],
        record=str(options.record) if options.record else None,
    )
    tasks = [asyncio.create_task(engine.run(), name="engine")]
    tasks += [asyncio.create_task(factory(), name=name) for name, factory in sources]
    notify_task = asyncio.create_task(dispatcher.run(tick_every=options.tick), name="notify")
    house_task = asyncio.create_task(
        _housekeeping(options.tick, exporter, feed, recorder, monitor, SourceStateLog(log))
    )
    stopper = asyncio.create_task(stop.wait())
    code = 0
    try:
        done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            failure = None if task is stopper else task.exception()
            if failure is not None:
                problem = f"{type(failure).__name__}: {failure}"
                log.log("task_failed", "error", task=task.get_name(), error=problem)
                code = 1
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        for task in [*tasks, house_task, stopper]:
            task.cancel()
        for task in [*tasks, house_task, stopper]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await dispatcher.flush(FLUSH_TIMEOUT_S)
        notify_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await notify_task
        if recorder is not None:
            recorder.close()
        exporter.close()
        stats = dispatcher.stats
        log.log(
            "stopped",
            lines=engine.stats.ingested,
            notifications=stats.notified,
            deduplicated=stats.deduplicated,
            delivered=stats.delivered,
            dead_letters=stats.dead_letters,
            silenced=stats.silenced,
            recorded=recorder.records if recorder is not None else None,
        )
    return code


async def _housekeeping(
    every: float,
    exporter: MetricsExporter,
    feed: AlertFeed,
    recorder: Recorder | None,
    monitor: Any,
    sources: SourceStateLog | None = None,
) -> None:
    while True:
        if sources is not None:
            sources.observe(exporter.engine.hosts)
        tick = getattr(monitor, "tick", None)
        if callable(tick):
            tick()
        exporter.set_alerts(feed.open_by_severity())
        exporter.refresh()
        if recorder is not None:
            recorder.flush()
        await asyncio.sleep(every)


def open_incident_store(loaded: LoadedSettings, options: WatchOptions, log: JsonLogger) -> Any:
    """The store of notified incidents, owned by this instance's config file (demo runs apart), or None
    when it cannot be opened (then a restart may page open incidents again: logged)."""
    import sqlite3

    from postaltop.notify.setup import incident_store

    source = str(loaded.settings_source.resolve()) if loaded.settings_source else "(no config file)"
    owner = f"demo {source}" if options.demo else source
    try:
        return incident_store(loaded.settings.notify, owner)
    except (OSError, sqlite3.Error) as exc:
        log.log("incident_store_unavailable", "warning", error=str(exc))
        return None


def _notification_counts(dispatcher: Dispatcher) -> dict[tuple[str, str], int]:
    stats = dispatcher.stats
    out: dict[tuple[str, str], int] = {}
    for name, count in stats.delivered.items():
        out[(name, "delivered")] = count
    for name, count in stats.retries.items():
        out[(name, "retried")] = count
    for name, count in stats.dead_letters.items():
        out[(name, "dead_letter")] = count
    for name, count in stats.silenced.items():
        out[(name, "silenced")] = count
    return out


def _meta(options: WatchOptions) -> dict[str, Any]:
    return {
        "mode": "demo" if options.demo else "live",
        "scenario": options.scenario if options.demo else None,
        "seed": options.seed if options.demo else None,
        "speed": options.speed,
        "recorded_by": "watch",
    }


SourceFactory = tuple[str, Callable[[], Coroutine[Any, Any, None]]]


def live_sources(loaded: LoadedSettings, engine: Engine, log: JsonLogger) -> list[SourceFactory]:
    """The SSH log streams of the configured hosts and (when this build has it) the database poll."""
    out: list[SourceFactory] = []
    settings = loaded.settings
    if settings.hosts:
        from postaltop.sources.log_runner import engine_runner

        out.append(("logs", engine_runner(settings, engine).run))
    try:
        db_runner = importlib.import_module("postaltop.sources.db_runner")
    except ImportError:
        if settings.database is not None:
            log.log("database_unavailable", "warning", reason="the database runner is not part of this build")
    else:
        for index, factory in enumerate(db_runner.db_sources(settings, engine)):
            out.append((f"database-{index}", factory))
    return out


def demo_fleet(options: WatchOptions) -> Any:
    """The simulated fleet, started :data:`DEMO_BACKFILL_S` in the past (as ``postaltop demo`` does)."""
    from postaltop.core.sim import Fleet

    return Fleet(seed=options.seed, scenario=options.scenario, start=time.time() - DEMO_BACKFILL_S)


def demo_sources(engine: Engine, fleet: Any, options: WatchOptions) -> list[SourceFactory]:
    """The simulated fleet's log lines and its poll results, as the TUI's demo runs them."""
    from postaltop.sources.demo import DemoSource
    from postaltop.sources.demo_metrics import demo_metrics_runner

    source = DemoSource(fleet, speed=options.speed, backfill=DEMO_BACKFILL_S, clock=time.time)
    live_from = fleet.position + DEMO_BACKFILL_S
    for host in getattr(fleet, "hosts", ()):
        engine.set_host(host if isinstance(host, str) else str(getattr(host, "name", host)), "demo")

    async def logs() -> None:
        await engine.run_batches(source.batches(), state="demo")

    async def metrics() -> None:
        await demo_metrics_runner(engine, fleet, options.speed, live_from=live_from)

    return [("demo-logs", logs), ("demo-metrics", metrics)]

"""The headless run: sources -> engine -> detectors -> notifications, metrics endpoint and recording.

Every piece is the one the TUI uses (the engine, the demo and SSH sources, the detectors and the alert
lifecycle), built by :mod:`postaltop.runtime`; only the front end differs: JSON logs on stderr instead of
screens. SIGTERM and SIGINT stop it cleanly: the sources stop, queued notifications get a few seconds to go
out (the rest are dead-lettered), the recording is finished, and the exit status is 0. SIGHUP re-reads the
configuration file and applies what can change while running (see :meth:`Runtime.reload`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postaltop.config import LoadedSettings
from postaltop.config.secrets import SecretError
from postaltop.core.alerts import AlertEvent
from postaltop.core.notification import NotificationEvent
from postaltop.metrics_export import MetricsExporter
from postaltop.monitoring import Monitor
from postaltop.notify.dispatcher import Dispatcher
from postaltop.recording.file import Recorder
from postaltop.runtime import Runtime, RuntimeOptions, build_runtime
from postaltop.watch.jsonlog import JsonLogger
from postaltop.watch.source_events import SourceStateLog

WATCH_RETAINED_LINES = 200_000
"""Lines kept in memory headless (nobody scrolls back; detection sees every line anyway)."""

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
    """Alert transitions from the detectors, fanned out to the dispatcher, the log and the metrics.

    (The runtime records them when a recording is made.)
    """

    def __init__(self, dispatcher: Dispatcher, log: JsonLogger) -> None:
        self.dispatcher = dispatcher
        self.log = log
        self.firing: dict[str, str] = {}
        """Open alert key -> severity."""

    def __call__(self, event: NotificationEvent) -> None:
        """Take one transition."""
        if event.firing:
            self.firing[event.key] = event.severity
        else:
            self.firing.pop(event.key, None)
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


def attach_detection(monitor: Monitor | None, feed: Callable[[NotificationEvent], None]) -> None:
    """Send every notifiable alert transition of ``monitor`` to ``feed``."""
    if monitor is None:
        return
    from postaltop.notify.from_alert import notification_for

    def on_alert(alert_event: AlertEvent) -> None:
        note = notification_for(alert_event)
        if note is not None:
            feed(note)

    monitor.on_alert(on_alert)


async def run_watch(loaded: LoadedSettings, options: WatchOptions, log: JsonLogger) -> int:
    """Run until SIGTERM/SIGINT; returns the exit status (0, or 2 for a configuration problem)."""
    prepared = _prepare(loaded, options, log)
    if isinstance(prepared, int):
        return prepared
    runtime, dispatcher, exporter = prepared
    feed = AlertFeed(dispatcher, log)
    attach_detection(runtime.monitor, feed)
    if runtime.monitor is None:
        log.log("detection_disabled", "warning", reason="[detection] enabled = false in the configuration")
    responder = _responder(runtime, dispatcher, log)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: _reload(runtime, log))
    log.log(
        "started",
        mode="demo" if options.demo else "live",
        scenario=options.scenario if options.demo else None,
        speed=options.speed,
        channels=[c.name for c in dispatcher.channels],
        record=str(options.record) if options.record else None,
    )
    notify_task = asyncio.create_task(dispatcher.run(tick_every=options.tick), name="notify")
    house_task = asyncio.create_task(
        _housekeeping(options.tick, exporter, feed, runtime.recorder, SourceStateLog(log), responder)
    )
    try:
        return await _until_stopped(runtime, stop, log)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        await _cancel([house_task])
        await dispatcher.flush(FLUSH_TIMEOUT_S)
        await _cancel([notify_task])
        runtime.stop()
        exporter.close()
        _log_stopped(log, runtime, dispatcher)


def _prepare(
    loaded: LoadedSettings, options: WatchOptions, log: JsonLogger
) -> tuple[Runtime, Dispatcher, MetricsExporter] | int:
    """The dispatcher, the started runtime and the metrics endpoint; an exit status (2) when one cannot be."""
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
    runtime = build_runtime(loaded, _runtime_options(options))
    exporter = MetricsExporter(
        runtime.engine, top_domains=settings.database.top_domains if settings.database else 10
    )
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
    try:
        runtime.start()
    except OSError as exc:
        exporter.close()
        problem = f"cannot record to {options.record}: {exc.strerror or exc}"
        log.log("config_error", "error", error=problem)
        return 2
    return runtime, dispatcher, exporter


async def _until_stopped(runtime: Runtime, stop: asyncio.Event, log: JsonLogger) -> int:
    """Run the engine and the sources until ``stop`` is set (0) or one of them fails (1)."""
    tasks = [asyncio.create_task(runtime.engine.run(), name="engine")]
    tasks += [asyncio.create_task(source.run(), name=source.name) for source in runtime.sources]
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
        await _cancel([*tasks, stopper])
    return code


async def _cancel(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def _log_stopped(log: JsonLogger, runtime: Runtime, dispatcher: Dispatcher) -> None:
    stats = dispatcher.stats
    recorder = runtime.recorder
    log.log(
        "stopped",
        lines=runtime.engine.stats.ingested,
        notifications=stats.notified,
        deduplicated=stats.deduplicated,
        delivered=stats.delivered,
        dead_letters=stats.dead_letters,
        silenced=stats.silenced,
        recorded=recorder.records if recorder is not None else None,
    )


async def _housekeeping(
    every: float,
    exporter: MetricsExporter,
    feed: AlertFeed,
    recorder: Recorder | None,
    sources: SourceStateLog | None = None,
    responder: Any = None,
) -> None:
    while True:
        if sources is not None:
            sources.observe(exporter.engine.hosts)
        exporter.set_alerts(feed.open_by_severity())
        exporter.refresh()
        if recorder is not None:
            recorder.flush()
        if responder is not None:
            await responder()
        await asyncio.sleep(every)


def _responder(
    runtime: Runtime, dispatcher: Dispatcher, log: JsonLogger
) -> Callable[[], Coroutine[Any, Any, Any]] | None:
    """One review of the open alerts by the ``[[respond]]`` policies, or None when there is none to run."""
    from postaltop.watch.respond import attach_response, response_executor

    monitor = runtime.monitor
    executor = response_executor(runtime, log) if monitor is not None else None
    if monitor is None or executor is None:
        return None
    runner = attach_response(
        runtime.settings, runtime.engine, executor, dispatcher.submit, log, lambda: monitor.now
    )
    if runner is None:
        return None
    return lambda: runner.review(monitor.alerts, monitor.now)


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


def _reload(runtime: Runtime, log: JsonLogger) -> None:
    """SIGHUP: re-read the configuration file and apply what can change while running."""
    done = runtime.reload()
    if done.error is not None:
        log.log("reload_failed", "error", error=done.error)
        return
    log.log("reloaded", applied=list(done.applied), restart_needed=list(done.restart_needed))


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


def _runtime_options(options: WatchOptions) -> RuntimeOptions:
    return RuntimeOptions(
        mode="demo" if options.demo else "live",
        scenario=options.scenario,
        seed=options.seed,
        speed=options.speed,
        record=options.record,
        recorded_by="watch",
        retained_lines=WATCH_RETAINED_LINES,
        persist_filters=False,
    )

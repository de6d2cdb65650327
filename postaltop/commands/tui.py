"""The TUI's entry points: build the run with :mod:`postaltop.runtime`, show it in :class:`PostaltopApp`.

``postaltop`` (live), ``postaltop demo`` and ``postaltop replay`` each build a
:class:`~postaltop.runtime.Runtime` and hand its parts to the app; the app renders them and sends intents
back through :mod:`postaltop.runtime.interfaces`. The monitor and the demo draw their first frame before
the run is built (:class:`~postaltop.ui.app.Boot`): this module imports nothing heavy at the top, and the
engine, sources and stores are imported and built once the chrome is on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from postaltop.config import LoadedSettings
    from postaltop.preflight import FirstFrame
    from postaltop.recording.replay import Recording, ReplayController
    from postaltop.runtime import Runtime, RuntimeOptions
    from postaltop.ui.app import AppParts, PostaltopApp
    from postaltop.ui.replay_app import ReplayApp


def preload() -> None:
    """Import Textual and the first frame's modules (while :mod:`postaltop.preflight` checks the config)."""
    import postaltop.ui.app  # noqa: F401


def parts_for(runtime: Runtime) -> AppParts:
    """What the monitor UI shows of ``runtime`` (engine, sources, monitor, actions, stores)."""
    from postaltop.runtime.respond import prompted_responses
    from postaltop.ui.app import AppParts

    filter_text, history = runtime.filters.load() if runtime.filters is not None else ("", [])
    return AppParts(
        runtime.engine,
        mode=runtime.label,
        sources=[source.run for source in runtime.sources],
        filter_text=filter_text,
        history=history,
        persist_filters=runtime.filters is not None,
        placeholder=runtime.placeholder,
        monitor=runtime.monitor,
        actions=runtime.actions,
        message_lookup=runtime.message_lookup,
        filters=runtime.filters,
        host_versions=runtime.host_versions,
        responses=prompted_responses(runtime),
    )


def app_for(runtime: Runtime, *, run_engine: bool = True) -> PostaltopApp:
    """The monitor UI over ``runtime``'s parts (its host bar shows versions as they are read)."""
    from postaltop.ui.app import PostaltopApp
    from postaltop.ui.replay_app import ReplayApp

    parts = parts_for(runtime)
    replay = runtime.replay
    app = (ReplayApp if replay is not None else PostaltopApp)(
        runtime.engine,
        *([replay] if replay is not None else []),
        ui=runtime.settings.ui,
        mode=parts.mode,
        sources=parts.sources,
        run_engine=run_engine,
        filter_text=parts.filter_text,
        history=parts.history,
        persist_filters=parts.persist_filters,
        placeholder=parts.placeholder,
        monitor=parts.monitor,
        actions=parts.actions,
        message_lookup=parts.message_lookup,
        filters=parts.filters,
        host_versions=parts.host_versions,
        responses=parts.responses,
    )
    runtime.on_host_version(lambda host, text: app.show_host_versions({host: text}))
    return app


def run_app(runtime: Runtime) -> int:
    """Start ``runtime``, run the UI until it quits, stop ``runtime``; returns the exit code."""
    runtime.start()
    try:
        app = app_for(runtime)
        app.run()
    finally:
        runtime.stop()
    return app.return_code or 0


def run_booted(
    frame: FirstFrame,
    options: Callable[[], RuntimeOptions],
    *,
    mode: str,
    hosts: tuple[str, ...],
    message: str,
) -> int:
    """Draw the chrome first, then build and start the run behind it; stop it when the UI quits.

    ``options`` makes the run's options once the frame is on screen (importing the runtime is not cheap);
    the full settings are loaded then too (``frame`` holds what the chrome needs, from the checked config).

    Raises:
        Exception: whatever building or starting the run raised (after the terminal is restored).
    """
    from postaltop.ui.app import Boot, PostaltopApp

    built: list[Runtime] = []

    def build() -> AppParts:
        from postaltop.runtime import build_runtime

        runtime = build_runtime(frame.load(), options())
        built.append(runtime)
        runtime.start()
        runtime.on_host_version(lambda host, text: app.show_host_versions({host: text}))
        return parts_for(runtime)

    app = PostaltopApp(None, ui=frame.ui, boot=Boot(mode, hosts, message, build))
    try:
        app.run()
    finally:
        for runtime in built:
            runtime.stop()
    if app.boot_error is not None:
        raise app.boot_error
    return app.return_code or 0


def run_demo(frame: FirstFrame, *, scenario: str, seed: int, speed: float, record: Path | None = None) -> int:
    """``postaltop demo``: a simulated Postal fleet through the real engine and UI."""

    def options() -> RuntimeOptions:
        from postaltop.runtime import RuntimeOptions

        return RuntimeOptions(mode="demo", scenario=scenario, seed=seed, speed=speed, record=record)

    label = f"demo · {scenario} · seed {seed}"
    return run_booted(frame, options, mode=label, hosts=(), message="Starting the simulated fleet…")


def run_monitor(frame: FirstFrame, record: Path | None = None) -> int:
    """``postaltop``: the live monitor of the configured hosts and database."""

    def options() -> RuntimeOptions:
        from postaltop.runtime import RuntimeOptions

        return RuntimeOptions(mode="live", record=record)

    hosts = frame.hosts
    targets = [f"{len(hosts)} host{'s' if len(hosts) != 1 else ''}"] if hosts else []
    targets += ["the database"] if frame.database else []
    message = f"Connecting to {' and '.join(targets)}…" if targets else "Starting…"
    return run_booted(frame, options, mode="monitor", hosts=hosts, message=message)


def build_replay_app(
    loaded: LoadedSettings,
    recording: Recording,
    *,
    speed: float = 1.0,
    start_at: float | None = None,
    paused: bool = False,
) -> ReplayApp:
    """The replay UI over a fresh run of ``recording`` whose clock is the replay clock."""
    from postaltop.runtime import RuntimeOptions, build_runtime
    from postaltop.ui.replay_app import ReplayApp

    controller = _controller(recording, speed, start_at, paused)
    runtime = build_runtime(loaded, RuntimeOptions(mode="replay", replay=controller))
    app = app_for(runtime)
    assert isinstance(app, ReplayApp)
    return app


def run_replay(loaded: LoadedSettings, path: Path, *, speed: float = 1.0, paused: bool = False) -> int:
    """``postaltop replay FILE``: run the replay UI until quit (restarting it after a jump back)."""
    from postaltop.recording.replay import Recording
    from postaltop.runtime import RuntimeOptions, build_runtime
    from postaltop.ui.replay_app import RESTART

    recording = Recording(path)
    start_at: float | None = None
    while True:
        controller = _controller(recording, speed, start_at, paused)
        code = run_app(build_runtime(loaded, RuntimeOptions(mode="replay", replay=controller)))
        if code != RESTART or controller.restart_at is None:
            return code
        start_at, speed, paused = controller.restart_at, controller.speed, controller.paused


def _controller(recording: Recording, speed: float, start_at: float | None, paused: bool) -> ReplayController:
    from postaltop.recording.replay import ReplayController

    return ReplayController(recording, speed=speed, start_at=start_at, paused=paused)


def run_first_run(loaded: LoadedSettings) -> int:
    """``postaltop`` without a config file: explain how to start."""
    from postaltop.engine import Engine
    from postaltop.ui.app import PostaltopApp

    engine = Engine(retained_lines=1000, refresh_hz=loaded.settings.ui.refresh_hz)
    app = PostaltopApp(engine, ui=loaded.settings.ui, mode="first run", first_run_config=loaded.searched_path)
    app.run()
    return app.return_code or 0

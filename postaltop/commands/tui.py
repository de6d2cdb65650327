"""The TUI's entry points: build the run with :mod:`postaltop.runtime`, show it in :class:`PostaltopApp`.

``postaltop`` (live), ``postaltop demo`` and ``postaltop replay`` each build a
:class:`~postaltop.runtime.Runtime` and hand its parts to the app; the app renders them and sends intents
back through :mod:`postaltop.runtime.interfaces`. Textual is imported only when a screen is about to open.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from postaltop.config import LoadedSettings
from postaltop.engine import Engine
from postaltop.runtime import Runtime, RuntimeOptions, build_runtime
from postaltop.runtime.respond import prompted_responses

if TYPE_CHECKING:
    from postaltop.recording.replay import Recording, ReplayController
    from postaltop.ui.app import PostaltopApp
    from postaltop.ui.replay_app import ReplayApp


def app_for(runtime: Runtime, *, run_engine: bool = True) -> PostaltopApp:
    """The monitor UI over ``runtime``'s parts (its host bar shows versions as they are read)."""
    from postaltop.ui.app import PostaltopApp
    from postaltop.ui.replay_app import ReplayApp

    filter_text, history = runtime.filters.load() if runtime.filters is not None else ("", [])
    replay = runtime.replay
    app = (ReplayApp if replay is not None else PostaltopApp)(
        runtime.engine,
        *([replay] if replay is not None else []),
        ui=runtime.settings.ui,
        mode=runtime.label,
        sources=[source.run for source in runtime.sources],
        run_engine=run_engine,
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


def run_demo(
    loaded: LoadedSettings, *, scenario: str, seed: int, speed: float, record: Path | None = None
) -> int:
    """``postaltop demo``: a simulated Postal fleet through the real engine and UI."""
    options = RuntimeOptions(mode="demo", scenario=scenario, seed=seed, speed=speed, record=record)
    return run_app(build_runtime(loaded, options))


def run_monitor(loaded: LoadedSettings, record: Path | None = None) -> int:
    """``postaltop``: the live monitor of the configured hosts and database."""
    return run_app(build_runtime(loaded, RuntimeOptions(mode="live", record=record)))


def build_replay_app(
    loaded: LoadedSettings,
    recording: Recording,
    *,
    speed: float = 1.0,
    start_at: float | None = None,
    paused: bool = False,
) -> ReplayApp:
    """The replay UI over a fresh run of ``recording`` whose clock is the replay clock."""
    from postaltop.ui.replay_app import ReplayApp

    controller = _controller(recording, speed, start_at, paused)
    runtime = build_runtime(loaded, RuntimeOptions(mode="replay", replay=controller))
    app = app_for(runtime)
    assert isinstance(app, ReplayApp)
    return app


def run_replay(loaded: LoadedSettings, path: Path, *, speed: float = 1.0, paused: bool = False) -> int:
    """``postaltop replay FILE``: run the replay UI until quit (restarting it after a jump back)."""
    from postaltop.recording.replay import Recording
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
    from postaltop.ui.app import PostaltopApp

    engine = Engine(retained_lines=1000, refresh_hz=loaded.settings.ui.refresh_hz)
    app = PostaltopApp(engine, ui=loaded.settings.ui, mode="first run", first_run_config=loaded.searched_path)
    app.run()
    return app.return_code or 0

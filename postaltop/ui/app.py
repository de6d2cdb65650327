"""The Textual application (thin: screens and widgets do the work) and the entry points the CLI calls."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from postaltop.config import LoadedSettings, Settings, UiConfig
from postaltop.engine import Engine
from postaltop.lifecycle import HangupGuard
from postaltop.ui.commands import PostaltopCommands
from postaltop.ui.screens.first_run import FirstRunScreen
from postaltop.ui.screens.help import HelpScreen
from postaltop.ui.screens.main import MainScreen
from postaltop.ui.screens.too_small import MIN_HEIGHT, MIN_WIDTH, TooSmallScreen
from postaltop.ui.themes import DEFAULT_VARIABLES, THEME_ORDER, load_themes
from postaltop.ui.widgets.host_bar import HostBar

if TYPE_CHECKING:
    from postaltop.sources.log_runner import LogRunner
    from postaltop.sources.version_runner import VersionRunner

SourceTask = Callable[[], Coroutine[Any, Any, None]]
"""A factory of a coroutine that feeds the engine (one per source); run as a worker."""

DEMO_BACKFILL_S = 600.0
"""Simulated seconds the demo emits at start (about 80k lines of normal traffic)."""

NOT_CONNECTED = "not connected yet (SSH source arrives with the SSH issue)"


class PostaltopApp(App[int]):
    """postaltop's terminal UI.

    Args:
        engine: the pipeline the UI renders.
        ui: the ``[ui]`` settings (theme, follow, keymap); defaults when None.
        mode: label shown in the host bar (``demo``, ``monitor``).
        sources: coroutine factories started as workers after mount (each feeds ``engine``).
        run_engine: start the engine's ingest loop (tests drive ``engine.ingest_now()`` instead).
        first_run_config: show the first-run screen for this config path instead of the log.
        filter_text: the filter to start with; history: earlier filters (Up/Down in the input).
        persist_filters: save applied filters for the next start.
        placeholder: what the empty log panel says.
    """

    CSS_PATH = "app.tcss"
    TITLE = "postaltop"
    COMMANDS = App.COMMANDS | {PostaltopCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("t", "cycle_theme", "Theme", id="app.theme"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, id="app.palette"),
    ]

    def __init__(
        self,
        engine: Engine,
        *,
        ui: UiConfig | None = None,
        mode: str = "monitor",
        sources: Sequence[SourceTask] = (),
        run_engine: bool = True,
        first_run_config: Path | None = None,
        filter_text: str = "",
        history: Sequence[str] = (),
        persist_filters: bool = True,
        placeholder: str = "Waiting for log lines…",
    ) -> None:
        super().__init__()
        self.engine = engine
        self.ui = ui if ui is not None else UiConfig()
        self.mode = mode
        self._sources = list(sources)
        self._run_engine = run_engine
        self._first_run_config = first_run_config
        self._filter_text = filter_text
        self._history = list(history)
        self._persist_filters = persist_filters
        self._placeholder = placeholder
        self.keymap_overrides: dict[str, str] = dict(self.ui.keymap)
        for theme in load_themes().values():
            self.register_theme(theme)
        self.theme = self.ui.theme if self.ui.theme in self.available_themes else "textual-dark"
        self.set_keymap(self.keymap_overrides)
        self.keymap_warning: str | None = None
        """The warning about unknown ``[ui] keymap`` ids shown at start (None when every id is known)."""
        self._too_small: TooSmallScreen | None = None
        self.main_screen: MainScreen | None = None
        self._hangup_guard: HangupGuard | None = None
        self.message_lookup: Callable[[str], Awaitable[Any]] | None = None
        """``ref -> LookupResult`` for the message trace screen, when a database is configured."""
        self.host_versions: dict[str, str] = {}
        """Host -> Postal version text shown in the host bar (``v3.3.5 -1 !sec``)."""
        self.version_runner: VersionRunner | None = None
        """The live monitor's version reader (cancelled when the app ends)."""

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's palette commands, less its theme picker and its Quit.

        The picker offers Textual's own themes, which the ``[ui] theme`` setting rejects; postaltop's
        commands offer the themes it ships, and its own Quit (so "Quit" is listed once).
        """
        for command in super().get_system_commands(screen):
            if command.title not in ("Theme", "Quit"):
                yield command

    def get_css_variables(self) -> dict[str, str]:
        """Theme variables, with severity colours for themes that do not define them (Textual's own)."""
        return {**DEFAULT_VARIABLES, **super().get_css_variables()}

    def on_mount(self) -> None:
        """Install the SIGHUP handler, start the engine and sources, check the terminal size."""
        from postaltop.cli import install_hangup_handler

        # SIGHUP/SIGTERM or a vanished terminal end the app cleanly; headless runs have no terminal to watch.
        self._hangup_guard = install_hangup_handler(self.exit, watch_fd=None if self.is_headless else "auto")
        if self._first_run_config is None:
            # The frame is drawn first: a demo backfill or an SSH backlog then fills it as it arrives.
            self.call_after_refresh(self._start_workers)
        self._check_size(self.size.width, self.size.height)
        self._warn_unknown_keymap_ids()

    def _start_workers(self) -> None:
        """Start the engine's ingest loop and the sources (after the first frame is on screen)."""
        if self._run_engine:
            self.run_worker(self.engine.run(), group="engine", name="engine", exit_on_error=True)
        for index, factory in enumerate(self._sources):
            self.run_worker(factory(), group="sources", name=f"source-{index}", exit_on_error=False)

    def _warn_unknown_keymap_ids(self) -> None:
        """``[ui] keymap`` ids that match no binding do nothing in Textual: say so, with the valid ids."""
        from postaltop.ui.keymap import keymap_warning

        self.keymap_warning = keymap_warning(self.keymap_overrides) if self.keymap_overrides else None
        if self.keymap_warning is not None:
            self.notify(self.keymap_warning, title="Keymap", severity="warning", markup=False, timeout=30)

    def on_unmount(self) -> None:
        """Restore the previous signal handlers (and stop reading host versions)."""
        if self.version_runner is not None:
            self.version_runner.close()
        if self._hangup_guard is not None:
            self._hangup_guard.close()
            self._hangup_guard = None

    # -- size -------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        """Swap in the too-small message when the terminal shrinks below the minimum."""
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int, height: int) -> None:
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        if small and self._too_small is None:
            self._too_small = TooSmallScreen()
            self.push_screen(self._too_small)
            self.call_after_refresh(self._show_size)
        elif small:
            self._show_size()
        elif self._too_small is not None:
            screen, self._too_small = self._too_small, None
            if self.screen is screen:
                self.pop_screen()

    def _show_size(self) -> None:
        if self._too_small is not None and self._too_small.is_mounted:
            self._too_small.show_size(self.size.width, self.size.height)

    # -- actions ----------------------------------------------------------------------

    def action_help(self) -> None:
        """Show every key binding."""
        if not isinstance(self.screen, HelpScreen | TooSmallScreen):
            self.push_screen(HelpScreen(self.keymap_overrides))

    def set_theme(self, name: str) -> None:
        """Switch theme and redraw the log with its colours."""
        self.theme = name
        if self.main_screen is not None and self.main_screen.is_mounted:
            self.main_screen.panel.theme_key = name
            self.main_screen.panel.notify_style_update()
            self.main_screen.panel.refresh()
            self.main_screen.sync()

    def action_cycle_theme(self) -> None:
        """Next theme of dark → light → colorblind."""
        order = [name for name in THEME_ORDER if name in self.available_themes]
        if not order:
            return
        current = order.index(self.theme) if self.theme in order else -1
        self.set_theme(order[(current + 1) % len(order)])
        self.notify(f"Theme: {self.theme}", markup=False, timeout=2)

    def show_host_versions(self, versions: dict[str, str]) -> None:
        """Show hosts' Postal versions in the host bar now (``host -> text``, e.g. ``v3.3.5 -1 !sec``)."""
        self.host_versions.update(versions)
        if self.main_screen is not None and self.main_screen.is_mounted:
            bar = self.main_screen.query_one(HostBar)
            bar.show_versions(versions)
            bar.show(self.engine.hosts, self.engine.host_rates())

    def main(self) -> MainScreen:
        """The main screen (for tests and the benchmark)."""
        if self.main_screen is None:
            raise RuntimeError("the main screen is not shown")
        return self.main_screen

    def screen_stack_names(self) -> list[str]:
        """Class names of the screen stack (tests)."""
        return [type(s).__name__ for s in self.screen_stack]

    def get_default_screen(self) -> Screen[Any]:
        """The first-run screen without a config, else the main screen."""
        if self._first_run_config is not None:
            return FirstRunScreen(self._first_run_config)
        self.main_screen = MainScreen(
            self.engine,
            mode=self.mode,
            follow=self.ui.follow,
            filter_text=self._filter_text,
            history=self._history,
            placeholder=self._placeholder,
            persist_filters=self._persist_filters,
        )
        return self.main_screen


# -- entry points ---------------------------------------------------------------------


def _load_filters() -> tuple[str, list[str]]:
    """The last filter and the history, oldest first (the filter bar's order)."""
    from postaltop.store.filters import load_filter_state

    state = load_filter_state()
    return state.last, list(reversed(state.history))


def run_demo(
    loaded: LoadedSettings, *, scenario: str, seed: int, speed: float, record: Path | None = None
) -> int:
    """``postaltop demo``: a simulated Postal fleet through the real engine and UI.

    Returns:
        The process exit code.
    """
    from postaltop.core.sim import Fleet
    from postaltop.sources.demo import DemoSource
    from postaltop.sources.demo_metrics import demo_metrics_runner

    ui = loaded.settings.ui
    engine = Engine(retained_lines=ui.retained_lines, refresh_hz=ui.refresh_hz)
    # The simulation starts DEMO_BACKFILL_S in the past so the panel opens with recent history
    # and simulated time then runs alongside real time.
    fleet = Fleet(seed=seed, scenario=scenario, start=time.time() - DEMO_BACKFILL_S)
    source = DemoSource(fleet, speed=speed, backfill=DEMO_BACKFILL_S, clock=time.time)
    for host in _fleet_hosts(fleet):
        engine.set_host(host, "demo")
    # detection (issue 6): baselines bootstrapped from the simulated stats tables at the first poll
    from postaltop.monitoring import monitor_for
    from postaltop.sources.demo_metrics import attach_simulated_database

    attach_simulated_database(monitor_for(engine, loaded.settings.detection), fleet)
    # --record FILE (postaltop.recording): lines, poll results and alerts go to a file for `postaltop replay`.
    from postaltop.recording.file import open_recorder

    meta = {"mode": "demo", "scenario": scenario, "seed": seed, "speed": speed}
    recorder = open_recorder(record, engine, meta, monitor_for(engine))
    filter_text, history = _load_filters()
    app = PostaltopApp(
        engine,
        ui=ui,
        mode=f"demo · {scenario} · seed {seed}",
        sources=[
            lambda: engine.run_batches(source.batches(), state="demo"),
            lambda: demo_metrics_runner(engine, fleet, speed, live_from=fleet.start + DEMO_BACKFILL_S),
        ],
        filter_text=filter_text,
        history=history,
    )
    # incident actions (issue 7): the same plans applied to the simulation, audited as demo
    from postaltop.sources.demo_actions import attach_demo_actions

    attach_demo_actions(app, fleet, loaded.settings.actions)
    # Postal versions (issue 8): the simulated hosts' versions in the host bar (mx3 misses a security fix)
    from postaltop.core.versions import demo_host_versions
    from postaltop.sources.host_version import load_release_table

    table = load_release_table(loaded.settings.review.releases_file)
    app.host_versions = {v.host: v.status.short() for v in demo_host_versions(table)}
    try:
        app.run()
    finally:
        recorder.close()
    return app.return_code or 0


def _fleet_hosts(fleet: object) -> Iterable[str]:
    hosts = getattr(fleet, "hosts", ())
    return [h if isinstance(h, str) else str(getattr(h, "name", h)) for h in hosts]


def run_monitor(loaded: LoadedSettings, record: Path | None = None) -> int:
    """``postaltop``: the live monitor (the SSH and database sources arrive with their issues)."""
    ui = loaded.settings.ui
    engine = Engine(retained_lines=ui.retained_lines, refresh_hz=ui.refresh_hz)
    for host in loaded.settings.hosts:
        engine.set_host(host.name, NOT_CONNECTED)
    monitor_sources: list[SourceTask] = []
    log_runner: LogRunner | None = None
    if loaded.settings.hosts:
        # SSH log streams (issue 5): one HostLogStream per host, time-order merged into the engine
        from postaltop.sources.log_runner import engine_runner

        log_runner = engine_runner(loaded.settings, engine)
        monitor_sources.append(log_runner.run)
    # Postal's database (issue 4): poll loop (+ optional SSH tunnel) -> engine.publish_metrics
    from postaltop.sources.db_runner import db_sources

    monitor_sources.extend(db_sources(loaded.settings, engine))
    # detection (issue 6): persisted baselines and alert state; history bootstrap is wired by the DB source
    from postaltop.monitoring import monitor_for
    from postaltop.store.alert_state import AlertStateStore
    from postaltop.store.baselines import BaselineStore

    monitor_for(
        engine, loaded.settings.detection, baseline_store=BaselineStore(), alert_store=AlertStateStore()
    )
    # --record FILE (postaltop.recording): what the monitor sees, for `postaltop replay`.
    from postaltop.recording.file import open_recorder

    recorder = open_recorder(record, engine, {"mode": "monitor"}, monitor_for(engine))
    filter_text, history = _load_filters()
    app = PostaltopApp(
        engine,
        ui=ui,
        mode="monitor",
        sources=monitor_sources,
        filter_text=filter_text,
        history=history,
        placeholder="Waiting for log lines from the configured hosts…"
        if loaded.settings.hosts
        else "No [[hosts]] are configured: add one to stream Postal's logs over SSH.",
    )
    if log_runner is not None:
        # Postal versions (issue 8): each host's version, read after it connects (and after a reconnect)
        attach_host_versions(app, loaded.settings, log_runner)
    if loaded.settings.database is not None:
        # message trace (issue 5): the trace screen reads the message row and deliveries on demand
        from postaltop.sources.db_connect import connector_for
        from postaltop.sources.message_lookup import LazyLookup

        app.message_lookup = LazyLookup(loaded.settings.database, connector_for(loaded.settings))
        # incident actions (issue 7): x / u on the configured database (read-only unless enabled)
        from postaltop.sources.action_executor import attach_db_actions

        attach_db_actions(app, loaded.settings)
    try:
        app.run()
    finally:
        recorder.close()
    return app.return_code or 0


def attach_host_versions(app: PostaltopApp, settings: Settings, runner: LogRunner) -> VersionRunner:
    """Read each of ``runner``'s hosts' Postal version when it connects and show it in ``app``'s host bar."""
    from postaltop.sources.version_runner import attach_version_runner

    def on_version(host: str, text: str, _version: object) -> None:
        app.show_host_versions({host: text})

    app.version_runner = attach_version_runner(runner, settings, on_version)
    return app.version_runner


def run_first_run(loaded: LoadedSettings) -> int:
    """``postaltop`` without a config file: explain how to start."""
    engine = Engine(retained_lines=1000, refresh_hz=loaded.settings.ui.refresh_hz)
    app = PostaltopApp(engine, ui=loaded.settings.ui, mode="first run", first_run_config=loaded.searched_path)
    app.run()
    return app.return_code or 0

"""The Textual application (thin: screens and widgets do the work) and the entry points the CLI calls."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from postaltop.heap import freeze_startup_heap
from postaltop.lifecycle import HangupGuard, install_hangup_handler
from postaltop.ui.commands import PostaltopCommands
from postaltop.ui.screens.first_run import FirstRunScreen
from postaltop.ui.screens.help import HelpScreen
from postaltop.ui.screens.start import StartScreen
from postaltop.ui.screens.too_small import MIN_HEIGHT, MIN_WIDTH, TooSmallScreen
from postaltop.ui.themes import DEFAULT_VARIABLES, THEME_ORDER, load_themes
from postaltop.ui.widgets.host_bar import HostBar

if TYPE_CHECKING:  # imported when the main screen is built, after the first frame
    from postaltop.engine import Engine
    from postaltop.monitoring import Monitor
    from postaltop.runtime.interfaces import ActionService, FilterHistory, MessageLookup, ResponseService
    from postaltop.ui.screens.main import MainScreen


class UiChoices(Protocol):
    """The ``[ui]`` settings the app reads: ``UiConfig``, or its values as checked before the first frame
    (:class:`postaltop.preflight.UiChoices`): importing the app imports no pydantic."""

    @property
    def theme(self) -> str: ...
    @property
    def keymap(self) -> Mapping[str, str]: ...
    @property
    def follow(self) -> bool: ...


SourceTask = Callable[[], Coroutine[Any, Any, None]]
"""A factory of a coroutine that feeds the engine (one per source); run as a worker."""


@dataclass(frozen=True)
class AppParts:
    """What the main screen shows and where its intents go (see :class:`PostaltopApp` for each field)."""

    engine: Engine
    mode: str = "monitor"
    sources: Sequence[SourceTask] = ()
    filter_text: str = ""
    history: Sequence[str] = ()
    persist_filters: bool = True
    placeholder: str = "Waiting for log lines…"
    monitor: Monitor | None = None
    actions: ActionService | None = None
    message_lookup: MessageLookup | None = None
    filters: FilterHistory | None = None
    host_versions: dict[str, str] = field(default_factory=dict)
    responses: ResponseService | None = None


@dataclass(frozen=True)
class Boot:
    """Start with the chrome at once and build the run behind it after the first frame.

    The first frame (:class:`StartScreen`) shows ``mode``, a chip per host of ``hosts`` and ``message`` in
    the empty log panel; ``build`` then imports and builds everything else (engine, sources, stores,
    monitor) on the loop, and the main screen takes the start screen's place. An exception from ``build``
    ends the app with code 1 and is kept in :attr:`PostaltopApp.boot_error` for the caller to report.
    """

    mode: str
    hosts: tuple[str, ...]
    message: str
    build: Callable[[], AppParts]


class PostaltopApp(App[int]):
    """postaltop's terminal UI.

    Args:
        engine: the pipeline the UI renders (None with ``boot``: built after the first frame).
        ui: the ``[ui]`` settings (theme, follow, keymap); defaults when None.
        mode: label shown in the host bar (``demo``, ``monitor``).
        sources: coroutine factories started as workers after mount (each feeds ``engine``).
        run_engine: start the engine's ingest loop (tests drive ``engine.ingest_now()`` instead).
        first_run_config: show the first-run screen for this config path instead of the log.
        filter_text: the filter to start with; history: earlier filters (Up/Down in the input).
        persist_filters: save applied filters to ``filters`` for the next start.
        placeholder: what the empty log panel says.
        monitor: the detectors and alerts the chart and alert list show (an idle one when None).
        actions: incident actions (``x`` / ``u``); None when there is no database or simulation to act on.
        message_lookup: ``ref -> LookupResult`` for the trace screen, when a database is configured.
        filters: where the filter history persists (None: not persisted).
        host_versions: host -> Postal version text known at start.
        responses: the ``[[respond]]`` policies, asking before anything runs (None: none configured).
        boot: draw the chrome first and build the parts above after the first frame (:class:`Boot`).
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
        engine: Engine | None,
        *,
        ui: UiChoices | None = None,
        mode: str = "monitor",
        sources: Sequence[SourceTask] = (),
        run_engine: bool = True,
        first_run_config: Path | None = None,
        filter_text: str = "",
        history: Sequence[str] = (),
        persist_filters: bool = True,
        placeholder: str = "Waiting for log lines…",
        monitor: Monitor | None = None,
        actions: ActionService | None = None,
        message_lookup: MessageLookup | None = None,
        filters: FilterHistory | None = None,
        host_versions: dict[str, str] | None = None,
        responses: ResponseService | None = None,
        boot: Boot | None = None,
    ) -> None:
        super().__init__()
        self.ui: UiChoices = ui if ui is not None else _default_ui()
        self.mode = boot.mode if boot is not None else mode
        self._boot = boot
        self.boot_error: Exception | None = None
        """What ``boot.build`` raised (the app then ended with code 1)."""
        self._run_engine = run_engine
        self._first_run_config = first_run_config
        self.responses: ResponseService | None = None
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
        self.host_versions: dict[str, str] = {}
        """Host -> Postal version text shown in the host bar (``v3.3.5 -1 !sec``)."""
        if engine is not None:
            parts = AppParts(engine, mode, sources, filter_text, history, persist_filters, placeholder)
            self._take_parts(parts, monitor, actions, message_lookup, filters, host_versions or {}, responses)
        elif boot is None:
            raise ValueError("PostaltopApp needs an engine or a boot")

    def _take_parts(
        self,
        parts: AppParts,
        monitor: Monitor | None = None,
        actions: ActionService | None = None,
        message_lookup: MessageLookup | None = None,
        filters: FilterHistory | None = None,
        host_versions: dict[str, str] | None = None,
        responses: ResponseService | None = None,
    ) -> None:
        """Take the run's parts (at construction, or after the first frame with a boot)."""
        from postaltop.monitoring import Monitor

        self.engine = parts.engine
        self.mode = parts.mode
        self._sources = list(parts.sources)
        self._filter_text = parts.filter_text
        self._history = list(parts.history)
        self._persist_filters = parts.persist_filters
        self._placeholder = parts.placeholder
        monitor = monitor if monitor is not None else parts.monitor
        self.monitor = monitor if monitor is not None else Monitor()
        self.actions = actions if actions is not None else parts.actions
        self.filters = filters if filters is not None else parts.filters
        self.message_lookup = message_lookup if message_lookup is not None else parts.message_lookup
        self.responses = responses if responses is not None else parts.responses
        """``ref -> LookupResult`` for the message trace screen, when a database is configured."""
        self.host_versions.update(parts.host_versions)
        self.host_versions.update(host_versions or {})

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
        # SIGHUP/SIGTERM or a vanished terminal end the app cleanly; headless runs have no terminal to watch.
        self._hangup_guard = install_hangup_handler(self.exit, watch_fd=None if self.is_headless else "auto")
        if self._first_run_config is None:
            # The frame is drawn first: the run is built, and a demo backfill or an SSH backlog then fills
            # it, as they come.
            self.call_after_refresh(self._finish_boot if self._boot is not None else self._start_workers)
        self._check_size(self.size.width, self.size.height)
        self._warn_unknown_keymap_ids()

    def _finish_boot(self) -> None:
        """Build the run behind the start screen, then put the main screen in its place."""
        assert self._boot is not None
        try:
            parts = self._boot.build()
        except Exception as exc:  # reported by the caller once the terminal is restored
            self.boot_error = exc
            self.exit(return_code=1)
            return
        self._boot = None
        self._take_parts(parts)
        while len(self.screen_stack) > 1:  # a help or too-small screen opened meanwhile (shown again below)
            self.pop_screen()
        self._too_small = None
        # Over the start screen, which stays at the bottom of the stack, never shown again.
        self.push_screen(self._new_main_screen())
        self._check_size(self.size.width, self.size.height)
        self.call_after_refresh(self._start_workers)

    def _start_workers(self) -> None:
        """Start the engine's ingest loop and the sources (after the first frame is on screen)."""
        if self._run_engine:
            self.run_worker(self.engine.run(), group="engine", name="engine", exit_on_error=True)
        for index, factory in enumerate(self._sources):
            self.run_worker(factory(), group="sources", name=f"source-{index}", exit_on_error=False)
        freeze_startup_heap()  # start-up is over: full collections walk only what the run creates

    def _warn_unknown_keymap_ids(self) -> None:
        """``[ui] keymap`` ids that match no binding do nothing in Textual: say so, with the valid ids."""
        from postaltop.ui.keymap import keymap_warning

        self.keymap_warning = keymap_warning(self.keymap_overrides) if self.keymap_overrides else None
        if self.keymap_warning is not None:
            self.notify(self.keymap_warning, title="Keymap", severity="warning", markup=False, timeout=30)

    def on_unmount(self) -> None:
        """Restore the previous signal handlers."""
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
            self.push_screen(HelpScreen(self.keymap_overrides, PostaltopApp.BINDINGS))

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
        """The first-run screen without a config, the start screen with a boot, else the main screen."""
        if self._first_run_config is not None:
            return FirstRunScreen(self._first_run_config)
        if self._boot is not None:
            return StartScreen(self._boot.mode, self._boot.hosts, self._boot.message)
        return self._new_main_screen()

    def _new_main_screen(self) -> MainScreen:
        from postaltop.ui.screens.main import MainScreen

        self.main_screen = MainScreen(
            self.engine,
            mode=self.mode,
            follow=self.ui.follow,
            filter_text=self._filter_text,
            history=self._history,
            placeholder=self._placeholder,
            persist_filters=self._persist_filters,
            monitor=self.monitor,
            actions=self.actions,
            filters=self.filters,
            responses=self.responses,
        )
        return self.main_screen


def _default_ui() -> UiChoices:
    from postaltop.config.models import UiConfig

    return UiConfig()

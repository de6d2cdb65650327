"""The first frame: the main screen's chrome, drawn while the run behind it is being built.

Process start to this frame costs little more than Textual's own start: the screen imports only the light
widgets (host bar, filter bar, status line, footer). The engine, the sources, the stores, the monitor and the
main screen's heavy widgets are imported and built after it is on screen (:class:`~postaltop.ui.app.Boot`),
then the main screen replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static

from postaltop.ui.widgets.filter_bar import FilterBar
from postaltop.ui.widgets.host_bar import HostBar
from postaltop.ui.widgets.status_line import StatusLine

NOT_CONNECTED = "not connected yet"
"""A configured host's state on the first frame (the runtime's own word until its stream connects)."""


@dataclass(frozen=True, slots=True)
class _Host:
    name: str
    state: str


class StartScreen(Screen[None]):
    """Host bar (mode label, one chip per configured host), filter bar, an empty log panel, status line."""

    DEFAULT_CSS = """
    StartScreen { layout: vertical; }
    StartScreen #start-panel { height: 1fr; padding: 1 2; color: $foreground 70%; }
    """

    def __init__(self, mode: str, hosts: tuple[str, ...], message: str) -> None:
        super().__init__()
        self.mode = mode
        self.hosts = hosts
        self.message = message

    def compose(self) -> ComposeResult:
        yield HostBar(self.mode)
        yield FilterBar()
        yield Static(Text(self.message), id="start-panel")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        """Show the configured hosts as not connected yet, and the status line's starting state."""
        self.query_one(HostBar).show({name: _Host(name, NOT_CONNECTED) for name in self.hosts}, {})
        self.query_one(StatusLine).show(follow=True, new_lines=0, retained=0, theme=self.app.theme)

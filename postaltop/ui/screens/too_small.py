"""Shown instead of the UI while the terminal is smaller than the layout needs."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Static

MIN_WIDTH = 60
MIN_HEIGHT = 12


TIMES = "\u00d7"
"""The multiplication sign of ``60x12`` (written as an escape: it looks like the letter x)."""


def too_small_text(width: int, height: int) -> str:
    """The message for a ``width`` by ``height`` terminal (``need 60x12, have WxH``, with a times sign)."""
    return f"terminal too small: need {MIN_WIDTH}{TIMES}{MIN_HEIGHT}, have {width}{TIMES}{height}"


class TooSmallScreen(Screen[None]):
    """A centred message; disappears when the terminal grows."""

    BINDINGS = [Binding("q", "app.quit", "Quit", id="too_small.quit")]

    DEFAULT_CSS = """
    TooSmallScreen { align: center middle; }
    TooSmallScreen #too-small {
        width: auto; max-width: 100%; height: auto; color: $warning; text-align: center;
    }
    """

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static(Text(""), id="too-small")

    def show_size(self, width: int, height: int) -> None:
        """Update the message."""
        self.message = too_small_text(width, height)
        self.query_one("#too-small", Static).update(Text(self.message))

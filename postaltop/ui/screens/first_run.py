"""The first-run screen: no configuration yet, so explain how to start."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static


def first_run_text(config_path: Path) -> str:
    """The explanation shown when there is no configuration."""
    return (
        "Welcome to postaltop.\n\n"
        "There is no configuration yet, so there is nothing to monitor.\n\n"
        "  • Try it now with simulated Postal traffic:\n"
        "        postaltop demo\n\n"
        "  • Or write a starter configuration from your ~/.ssh/config,\n"
        "    Postal's postal.yml and ~/.my.cnf (it shows what it found and asks first):\n"
        "        postaltop config init\n"
        f"    It goes to {config_path}.\n"
        "    Every setting, with examples: postaltop help configuration\n\n"
        "Press q to quit."
    )


class FirstRunScreen(Screen[None]):
    """Shown by ``postaltop`` when no config file exists."""

    BINDINGS = [Binding("q,escape", "app.quit", "Quit", id="first_run.quit")]

    DEFAULT_CSS = """
    FirstRunScreen #first-run { width: auto; max-width: 100%; height: auto; padding: 1 3;
        border: round $primary; background: $surface; }
    FirstRunScreen #first-run > Static { width: auto; max-width: 100%; }
    """

    def __init__(self, config_path: Path) -> None:
        super().__init__()
        self.config_path = config_path

    def compose(self) -> ComposeResult:
        with Middle(), Center(), Vertical(id="first-run"):
            yield Static(Text(first_run_text(self.config_path)))
        yield Footer()

"""Command palette entries (ctrl+p): filter, clear filter, pause/follow, theme, export, help, quit."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider

from postaltop.ui.themes import THEME_ORDER


class ThemedApp(Protocol):
    """What the palette calls on the app (``postaltop.ui.app.PostaltopApp``)."""

    async def run_action(self, action: str, default_namespace: Any = None) -> bool:
        """Run a Textual action string."""

    def set_theme(self, name: str) -> None:
        """Switch theme."""


class PostaltopCommands(Provider):
    """postaltop's own commands."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app: ThemedApp = self.app  # type: ignore[assignment]
        commands: list[tuple[str, str, Callable[[], object]]] = [
            ("Filter", "Focus the filter input (/)", partial(app.run_action, "screen.focus_filter")),
            (
                "Clear filter",
                "Show every line again (Escape in the filter)",
                partial(app.run_action, "screen.clear_filter"),
            ),
            (
                "Pause / follow",
                "Stop or resume following new lines (f)",
                partial(app.run_action, "screen.toggle_follow"),
            ),
            (
                "Export view",
                "Write the filtered lines to JSONL or CSV (e)",
                partial(app.run_action, "screen.export"),
            ),
            ("Help: keys", "List every key binding (?)", partial(app.run_action, "help")),
            ("Quit", "Leave postaltop (q)", partial(app.run_action, "quit")),
        ]
        for name in THEME_ORDER:
            commands.append(
                (f"Theme: {name}", f"Switch to the {name} theme (t cycles)", partial(app.set_theme, name))
            )
        return commands

    async def discover(self) -> Hits:
        """Everything, when the palette opens empty."""
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        """Fuzzy-match the titles."""
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)

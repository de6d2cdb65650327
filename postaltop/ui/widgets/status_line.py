"""The status line above the footer: follow state, paused count, sizes."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def status_text(
    *, follow: bool, new_lines: int, retained: int, theme: str, behind: str = "", evicted: int = 0
) -> str:
    """The status line's text (kept as a function so tests can check it without an app).

    Args:
        behind: the engine's ``behind since …: N lines queued (…)`` while ingest falls behind.
        evicted: the oldest lines dropped because the retention limit was reached.
    """
    mode = "following" if follow else f"paused · {new_lines:,} new (End or f to follow)"
    if behind:
        mode = f"{behind}  │  {mode}"
    kept = f"{retained:,} lines retained"
    if evicted:
        kept += f" (limit: {evicted:,} oldest dropped)"
    return f"{mode}  │  {kept}  │  theme {theme}  │  ? help"


class StatusLine(Static):
    """One line of state the user should always see."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $foreground 80%; padding: 0 1; }
    StatusLine.-paused { color: $warning; text-style: bold; }
    """

    def __init__(self) -> None:
        super().__init__(Text(""), id="status-line")
        self.text = ""

    def show(
        self, *, follow: bool, new_lines: int, retained: int, theme: str, behind: str = "", evicted: int = 0
    ) -> None:
        """Redraw if anything changed."""
        text = status_text(
            follow=follow, new_lines=new_lines, retained=retained, theme=theme, behind=behind, evicted=evicted
        )
        if self.has_class("-paused") == follow:
            self.set_class(not follow, "-paused")
        if text != self.text:
            self.text = text
            self.update(Text(text), layout=False)  # fixed size: no screen re-layout

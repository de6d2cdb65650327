"""The replay bar: where the replay is in the recording, its speed, and the keys that move it."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from postaltop.core.sanitize import display_text

BAR_WIDTH = 24


def replay_text(
    *, position: float, progress: float, speed: float, paused: bool, finished: bool, alerts: list[str]
) -> str:
    """The bar's text (a function so tests can check it without an app)."""
    state = "PAUSED" if paused else ("at the end" if finished else "playing")
    filled = round(progress * BAR_WIDTH)
    bar = "█" * filled + "░" * (BAR_WIDTH - filled)
    clock = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(position))
    text = f"REPLAY {state} {clock} UTC {bar} {progress * 100:3.0f}% x{speed:g}"
    text += "  │  space pause · [ ] ±5 min · { } ±1 min · - + speed"
    if alerts:
        text += f"  │  recorded alerts firing: {len(alerts)} ({', '.join(alerts[:2])})"
    return text


class ReplayBar(Static):
    """One line above the status line during ``postaltop replay``."""

    DEFAULT_CSS = """
    ReplayBar { height: 1; background: $boost; color: $foreground; padding: 0 1; }
    ReplayBar.-paused { color: $warning; text-style: bold; }
    """

    def __init__(self) -> None:
        super().__init__(Text(""), id="replay-bar")
        self.text = ""

    def show(
        self,
        *,
        position: float,
        progress: float,
        speed: float,
        paused: bool,
        finished: bool,
        alerts: list[str],
    ) -> None:
        """Redraw when anything changed (alert titles come from recordings: made safe for display)."""
        safe = [display_text(a) for a in alerts]
        text = replay_text(
            position=position, progress=progress, speed=speed, paused=paused, finished=finished, alerts=safe
        )
        self.set_class(paused, "-paused")
        if text != self.text:
            self.text = text
            self.update(Text(text), layout=False)

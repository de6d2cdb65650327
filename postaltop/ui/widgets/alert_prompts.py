"""Prompts to acknowledge (comment) and silence (duration + reason) an alert; the alert list opens them."""

from __future__ import annotations

import re
from typing import TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

_DURATION = re.compile(r"^\s*(\d{1,5})\s*([smhd]?)\s*$")
_UNITS = {"": 60, "s": 1, "m": 60, "h": 3600, "d": 86400}
_Answer = TypeVar("_Answer")


def parse_duration(text: str) -> float | None:
    """``30m`` -> 1800.0; a bare number is minutes; None if not a duration (or longer than 30 days)."""
    m = _DURATION.match(text)
    if m is None:
        return None
    seconds = int(m[1]) * _UNITS[m[2]]
    return float(seconds) if 0 < seconds <= 30 * 86400 else None


class _AlertPrompt(ModalScreen[_Answer | None]):
    """A prompt about one alert (``what``); Escape dismisses it with None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="alert_prompt.cancel")]

    DEFAULT_CSS = """
    AckPrompt .prompt-label, SilencePrompt .prompt-label { margin-top: 1; text-style: bold; }
    AckPrompt .prompt-keys, SilencePrompt .prompt-keys { margin-top: 1; color: $foreground 70%; }
    SilencePrompt #silence-error { color: $error; }
    """

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def action_cancel(self) -> None:
        """Escape cancels."""
        self.dismiss(None)


class AckPrompt(_AlertPrompt[str]):
    """Ask for an acknowledgement comment; dismisses with the comment (None when cancelled)."""

    DEFAULT_CSS = """
    AckPrompt { align: center middle; }
    AckPrompt > Vertical {
        width: 70; height: auto; border: round $primary; padding: 1 2; background: $surface;
    }
    """

    def compose(self) -> ComposeResult:
        """Title and one input."""
        with Vertical():
            yield Label(f"Acknowledge: {self.what}", markup=False)
            yield Label("Comment", classes="prompt-label")
            yield Input(placeholder="what you are doing about it", id="ack-comment")
            yield Label("Enter: acknowledge · Escape: cancel", classes="prompt-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter confirms."""
        self.dismiss(event.value.strip() or "acknowledged")


class SilencePrompt(_AlertPrompt[tuple[float, str]]):
    """Ask for a duration and a reason; dismisses with ``(seconds, reason)`` (None when cancelled)."""

    DEFAULT_CSS = """
    SilencePrompt { align: center middle; }
    SilencePrompt > Vertical {
        width: 70; height: auto; border: round $warning; padding: 1 2; background: $surface;
    }
    """

    def compose(self) -> ComposeResult:
        """Title, duration and reason inputs, and an error line."""
        with Vertical():
            yield Label(f"Silence: {self.what}", markup=False)
            yield Label("Duration", classes="prompt-label")
            yield Input(value="1h", placeholder="30m, 2h, 1d", id="silence-duration")
            yield Label("Reason (required)", classes="prompt-label")
            yield Input(placeholder="why it is safe to mute", id="silence-reason")
            yield Label("", id="silence-error")
            yield Label("Enter: next field, then silence · Escape: cancel", classes="prompt-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the duration moves on; Enter in the reason confirms when both are valid."""
        if event.input.id == "silence-duration":
            self.query_one("#silence-reason", Input).focus()
            return
        seconds = parse_duration(self.query_one("#silence-duration", Input).value)
        reason = self.query_one("#silence-reason", Input).value.strip()
        error = self.query_one("#silence-error", Label)
        if seconds is None:
            error.update("duration must look like 30m, 2h or 1d (at most 30d)")
        elif not reason:
            error.update("a reason is required")
        else:
            self.dismiss((seconds, reason))

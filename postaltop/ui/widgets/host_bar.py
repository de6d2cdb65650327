"""The host bar: one chip per host with its name, state and current lines per second."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from postaltop.core.sanitize import display_text
from postaltop.engine import HostStatus


def _state_class(state: str) -> str:
    if state in ("live", "demo"):
        return "-ok"
    if state.startswith(("error", "disconnected", "failed")):
        return "-bad"
    # SSH host states (postaltop.sources.log_runner.state_text)
    if state.startswith("connected"):
        return "-ok"
    if state.startswith(("auth failed", "host key", "HOST KEY", "no log source")):
        return "-bad"
    return "-waiting"


def chip_text(status: HostStatus, rate: float) -> Text:
    """The plain text of one chip (host names come from config or logs: never markup)."""
    return Text(f"● {display_text(status.name)} {display_text(status.state)} {rate:,.0f}/s")


class HostChip(Static):
    """One host."""

    DEFAULT_CSS = """
    HostChip { width: auto; height: 1; padding: 0 1; margin-right: 1; background: $panel; }
    HostChip.-ok { color: $success; }
    HostChip.-waiting { color: $warning; }
    HostChip.-bad { color: $error; text-style: bold; }
    """

    def __init__(self, name: str) -> None:
        super().__init__(Text(""), classes="host-chip")
        self.host_name = name
        self.text = ""
        """The plain text shown."""
        self.version = ""
        """Postal version state shown after the rate (``v3.3.5 -1 !sec``); empty = not shown."""

    def show(self, status: HostStatus, rate: float) -> None:
        """Update the chip from the engine's status (a re-layout only when its width changes)."""
        text = chip_text(status, rate)
        if self.version:
            text.append(f" {self.version}")
        if text.plain != self.text:
            self.update(text, layout=len(text.plain) != len(self.text))
            self.text = text.plain
        state_class = _state_class(status.state)
        if not self.has_class(state_class):
            self.set_classes({"host-chip", state_class})


class HostBar(Horizontal):
    """The top row: the app name, one chip per host, then the mode label (cut first when narrow)."""

    DEFAULT_CSS = """
    HostBar { height: 1; background: $panel; overflow: hidden hidden; }
    HostBar #app-name {
        width: auto; padding: 0 1; background: $primary; color: $background; text-style: bold;
    }
    HostBar #mode { width: 1fr; min-width: 0; padding: 0 1; color: $foreground 70%; text-align: right; }
    """

    def __init__(self, mode: str) -> None:
        super().__init__(id="host-bar")
        self.mode = mode
        self._chips: dict[str, HostChip] = {}
        self._pending: tuple[dict[str, HostStatus], dict[str, float]] | None = None
        self.versions: dict[str, str] = {}
        """Host -> version text (the app's ``host_versions`` at mount, set by ``postaltop demo``)."""

    def compose(self) -> ComposeResult:
        yield Static(Text("postaltop"), id="app-name")
        yield Static(Text(self.mode), id="mode")

    def show(self, hosts: dict[str, HostStatus], rates: dict[str, float]) -> None:
        """Add chips for new hosts (after the labels) and refresh every chip."""
        if not self.is_mounted:
            self._pending = (hosts, rates)  # drawn on mount, so chips come after the labels
            return
        for name, status in hosts.items():
            chip = self._chips.get(name)
            if chip is None:
                chip = self._chips[name] = HostChip(name)
                chip.version = self.versions.get(name, "")
                self.mount(
                    chip, before="#mode"
                )  # hosts first: on a narrow terminal the mode is cut, not a host
            chip.show(status, rates.get(name, 0.0))

    def on_mount(self) -> None:
        """Draw what arrived before the bar was mounted."""
        self.versions.update(getattr(self.app, "host_versions", None) or {})
        if self._pending is not None:
            hosts, rates = self._pending
            self._pending = None
            self.show(hosts, rates)

    def set_mode(self, mode: str) -> None:
        """Change the mode label (``demo · 09:14:07``, ``monitor``...)."""
        if mode != self.mode:
            self.mode = mode
            self.query_one("#mode", Static).update(Text(mode))

    # -- Postal versions --

    def show_versions(self, versions: dict[str, str]) -> None:
        """Show each host's Postal version state after its rate (shown from the next refresh)."""
        self.versions.update(versions)
        for name, chip in self._chips.items():
            chip.version = self.versions.get(name, "")

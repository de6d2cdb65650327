"""The host bar: one chip per host with its name, state and current lines per second.

Chips are grouped by state (problems first) and as detailed as the width allows; with dozens of hosts the
healthy ones fold into one chip (``● 47 ok 12,480/s``) and each host with a problem keeps its own, with
the reason (``● mx07 connection refused``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from postaltop.core.sanitize import display_text
from postaltop.core.source_health import down_reason
from postaltop.ui.services import app_services


class HostStatus(Protocol):
    """What a chip shows of a host (the engine's ``HostStatus``; a plain name and state before it exists)."""

    @property
    def name(self) -> str: ...

    @property
    def state(self) -> str: ...


def _state_class(state: str) -> str:
    if state in ("live", "demo", "replay"):
        return "-ok"
    if state.startswith(("error", "disconnected", "failed")):
        return "-bad"
    # SSH host states (postaltop.sources.log_runner.state_text)
    if state.startswith("connected"):
        return "-ok"
    if state.startswith(("auth failed", "host key", "HOST KEY", "no log source")):
        return "-bad"
    if down_reason(state) is not None and not state.startswith("reconnecting (attempt 1,"):
        return "-bad"
    return "-waiting"


STATE_RANK = {"-bad": 0, "-waiting": 1, "-ok": 2}
"""Chips are grouped by state: problems first, then hosts still connecting, then healthy ones."""
LEVELS = 3
"""Detail levels of a chip: 0 everything, 1 no state word for a healthy host, 2 name (and reason) only."""
CHIP_EXTRA = 3
"""Columns a chip takes besides its text (padding and margin)."""


def chip_text(status: HostStatus, rate: float, version: str = "", level: int = 0) -> Text:
    """The plain text of one chip at detail ``level`` (host names come from config or logs: never markup).

    Level 0 is the whole state, rate and version; level 1 drops the state of a healthy host and keeps only
    a version's security flag; level 2 keeps the name, and the reason of a host that is down.
    """
    name, state = display_text(status.name), display_text(status.state)
    healthy = _state_class(status.state) == "-ok"
    flag = " !sec" if "!sec" in version else ""
    if level <= 0:
        text = f"● {name} {state} {rate:,.0f}/s" + (f" {display_text(version)}" if version else "")
    elif level == 1:
        reason = down_reason(status.state)
        shown = state if len(state) <= 28 else state[:27] + "…"
        shown = display_text(reason) if reason is not None else shown
        text = f"● {name} {rate:,.0f}/s{flag}" if healthy else f"● {name} {shown}"
    elif level == 2:
        reason = down_reason(status.state)
        text = f"● {name}{flag}" if healthy or reason is None else f"● {name} {display_text(reason)}"
    else:
        text = f"● {name}"
    return Text(text)


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
        self.state_class = "-waiting"

    def show(self, status: HostStatus, rate: float, level: int = 0) -> None:
        """Update the chip from the engine's status (a re-layout only when its width changes)."""
        text = chip_text(status, rate, self.version, level)
        if text.plain != self.text:
            self.update(text, layout=len(text.plain) != len(self.text))
            self.text = text.plain
        self.state_class = _state_class(status.state)
        if not self.has_class(self.state_class):
            self.set_classes({"host-chip", self.state_class})


class GroupChip(Static):
    """Several hosts in one state, when there is no room for a chip each (``● 47 ok 12,480/s``)."""

    DEFAULT_CSS = """
    GroupChip { width: auto; height: 1; padding: 0 1; margin-right: 1; background: $panel; display: none; }
    GroupChip.-shown { display: block; }
    GroupChip.-ok { color: $success; }
    GroupChip.-waiting { color: $warning; }
    GroupChip.-bad { color: $error; text-style: bold; }
    """

    def __init__(self, state_class: str) -> None:
        super().__init__(Text(""), classes=f"host-group {state_class}", id=f"group{state_class}")
        self.text = ""

    def show_group(self, text: str) -> None:
        """Show ``text`` (empty: hide the chip)."""
        self.set_class(bool(text), "-shown")
        if text != self.text:
            self.update(Text(text), layout=len(text) != len(self.text))
            self.text = text


GROUP_WORDS = {"-ok": "ok", "-waiting": "connecting", "-bad": "down"}


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
        self._pending: tuple[Mapping[str, HostStatus], Mapping[str, float]] | None = None
        self._last: tuple[Mapping[str, HostStatus], Mapping[str, float]] | None = None
        self._groups: dict[str, GroupChip] = {}
        self.versions: dict[str, str] = {}
        """Host -> version text (the app's ``host_versions`` at mount, set by ``postaltop demo``)."""

    def compose(self) -> ComposeResult:
        yield Static(Text("postaltop"), id="app-name")
        yield Static(Text(self.mode), id="mode")

    def show(self, hosts: Mapping[str, HostStatus], rates: Mapping[str, float]) -> None:
        """Add chips for new hosts (after the labels), lay them out for the width, refresh every chip.

        Each chip is as detailed as the width allows for all of them; when even names alone do not fit
        (dozens of hosts), healthy and connecting hosts fold into one chip per state and the hosts with a
        problem keep a chip each, first.
        """
        self._last = (hosts, rates)
        if not self.is_mounted:
            self._pending = (hosts, rates)  # drawn on mount, so chips come after the labels
            return
        new = [HostChip(name) for name in hosts if name not in self._chips]
        for chip in new:
            self._chips[chip.host_name] = chip
            chip.version = self.versions.get(chip.host_name, "")
        if new:  # one mount (one re-layout) for every host that appeared since the last redraw
            self.mount(*new, before="#mode")  # hosts first: on a narrow terminal the mode is cut
        budget = (self.size.width or self.app.size.width) - len("postaltop") - 2
        order = sorted(hosts, key=lambda n: STATE_RANK[_state_class(hosts[n].state)])
        level = self._fitting_level(hosts, rates, order, budget)
        grouped: dict[str, list[str]] = {"-ok": [], "-waiting": [], "-bad": []}
        bad_level = level
        if level >= LEVELS:
            # room for the two group chips, then the hosts with a problem: with their reason, else by name
            bad = [n for n in order if _state_class(hosts[n].state) == "-bad"]
            room = budget - 2 * 20
            for bad_level in (2, 3, 4):
                if (
                    bad_level == 4
                    or sum(len(chip_text(hosts[n], 0.0, "", bad_level)) + CHIP_EXTRA for n in bad) <= room
                ):
                    break
            for n in order:
                cls = _state_class(hosts[n].state)
                if cls != "-bad" or bad_level == 4:
                    grouped[cls].append(n)
        for name, status in hosts.items():
            chip = self._chips[name]
            folded = any(name in names for names in grouped.values())
            chip.display = not folded
            if not folded:
                chip.show(status, rates.get(name, 0.0), bad_level)
        self._order_chips(order)
        for cls, names in grouped.items():
            text = ""
            if names:
                total = sum(rates.get(n, 0.0) for n in names)
                text = f"{'●' if cls != '-waiting' else '◌'} {len(names)} {GROUP_WORDS[cls]}"
                text += f" {total:,.0f}/s" if cls == "-ok" else ""
            self._group(cls).show_group(text)

    def _fitting_level(
        self, hosts: Mapping[str, HostStatus], rates: Mapping[str, float], order: list[str], budget: int
    ) -> int:
        """The most detailed chip level at which every host fits in ``budget`` columns (LEVELS: none)."""
        for level in range(LEVELS):
            width = sum(
                len(chip_text(hosts[n], rates.get(n, 0.0), self.versions.get(n, ""), level)) + CHIP_EXTRA
                for n in order
            )
            if width <= budget:
                return level
        return LEVELS

    def _order_chips(self, order: list[str]) -> None:
        """Keep the chips in state order (problems first) without re-mounting them."""
        wanted = [self._chips[n] for n in order]
        current = [c for c in self.children if isinstance(c, HostChip)]
        if current == wanted:
            return
        mode = self.query_one("#mode")
        for chip in wanted:
            self.move_child(chip, before=mode)

    def _group(self, state_class: str) -> GroupChip:
        found = self._groups.get(state_class)
        if found is None:
            found = self._groups[state_class] = GroupChip(state_class)
            self.mount(found, before="#mode")
        return found

    def on_resize(self) -> None:
        """Lay the chips out again for the new width."""
        if self._last is not None:
            self.show(*self._last)

    def on_mount(self) -> None:
        """Draw what arrived before the bar was mounted."""
        services = app_services(self.app)
        self.versions.update(services.host_versions if services is not None else {})
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

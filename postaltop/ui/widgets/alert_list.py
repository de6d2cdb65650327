"""The alert list panel: severity, scope, why, age, count and ack/silence state of each alert.

Reads :attr:`postaltop.monitoring.Monitor.alerts`; ``A`` acknowledges the selected alert (comment
prompt), ``S`` silences it (duration + reason prompt). Alert text comes partly from logs (IPs, user
names), so everything is rendered as plain :class:`rich.text.Text`, never as markup.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Static

from postaltop.core.alerts import Alert, AlertEvent, AlertState, Scope, Severity, Transition
from postaltop.core.sanitize import display_text

if TYPE_CHECKING:
    from postaltop.monitoring import Monitor


TOAST_GAP_S = 10.0
"""Fewest real seconds between two critical-alert toasts (an alert storm is one toast, then the list)."""


def fmt_age(seconds: float) -> str:
    """``42s``, ``7m``, ``3h``, ``2d``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def alert_line(alert: Alert, now: float, selected: bool = False) -> Text:
    """One alert as a line of text."""
    if alert.state is AlertState.RESOLVED:
        badge, style = " OK  ", "dim"
    elif alert.severity is Severity.CRITICAL:
        badge, style = "CRIT ", "bold white on red"
    else:
        badge, style = "WARN ", "bold black on yellow"
    line = Text()
    line.append("▶ " if selected else "  ")
    line.append(badge, style=style)
    line.append(" ")
    scope = display_text(alert.scope.display)
    line.append((scope[:23] + "…" if len(scope) > 24 else scope).ljust(24), style="bold")
    line.append(" ")
    line.append(display_text(alert.why)[:90])
    since = alert.fired_at or alert.first_seen
    line.append(f"  {fmt_age(now - since)} ago x{alert.count}", style="dim")
    if alert.ack is not None:
        line.append(
            f"  ack {display_text(alert.ack.author)}: {display_text(alert.ack.comment)[:40]}", style="green"
        )
    if alert.silence is not None:
        left = fmt_age(alert.silence.until - now)
        line.append(f"  silenced {left} ({display_text(alert.silence.reason)[:30]})", style="magenta")
    if alert.inhibited:
        line.append("  source down", style="dim")
    if alert.action is not None and alert.is_open:
        line.append(f"  → {alert.action.label} [{alert.action.key}]", style="cyan")
    return line


class AlertList(Widget, can_focus=True):
    """The list of alerts (firing first), refreshed twice a second."""

    DEFAULT_CSS = """
    AlertList { height: auto; max-height: 10; border-top: solid $error; display: none; }
    AlertList.-shown { display: block; }
    AlertList > Static { height: auto; }
    """
    BINDINGS = [
        Binding("up", "move(-1)", "Previous alert", show=False),
        Binding("down", "move(1)", "Next alert", show=False),
    ]

    def __init__(
        self, monitor: Monitor | None = None, *, widget_id: str | None = None, clock: float | None = None
    ) -> None:
        super().__init__(id=widget_id)
        self.monitor = monitor
        self.index = 0
        self.fixed_now = clock
        """A fixed "now" for snapshots; the monitor's data time otherwise."""
        self._unsubscribe: Callable[[], None] | None = None
        self._last_toast = float("-inf")
        self.on_select: Callable[[Scope], None] | None = None
        """Called with the selected alert's scope (the chart follows the selection)."""

    def compose(self):  # type: ignore[no-untyped-def]
        """One Static holding the rendered lines."""
        yield Static(id="alert-lines")

    def on_mount(self) -> None:
        """Refresh on a timer; toast critical alerts even while the list is hidden."""
        self.set_interval(0.5, self.refresh_lines)
        self.refresh_lines()
        if self.monitor is not None:
            self._unsubscribe = self.monitor.on_alert(self._on_alert)

    def on_unmount(self) -> None:
        """Stop listening to the monitor."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_alert(self, event: AlertEvent) -> None:
        alert = event.alert
        if event.transition not in (Transition.FIRED, Transition.ESCALATED):
            return
        if alert.severity is not Severity.CRITICAL or alert.silenced:
            return
        now = time.monotonic()
        if now - self._last_toast < TOAST_GAP_S:
            return
        self._last_toast = now
        action = f" → {alert.action.label}" if alert.action is not None else ""
        self.notify(
            display_text(f"{alert.scope.display}: {alert.why}{action} (a: alerts)"),
            title="Critical alert",
            severity="error",
            timeout=10,
            markup=False,
        )

    def on_resize(self) -> None:
        """Lines are cut to the width: re-render when it changes."""
        self.refresh_lines()

    @property
    def alerts(self) -> list[Alert]:
        """The alerts shown."""
        return self.monitor.alerts if self.monitor is not None else []

    @property
    def selected(self) -> Alert | None:
        """The selected alert (the first when none was picked)."""
        alerts = self.alerts
        if not alerts:
            return None
        return alerts[min(self.index, len(alerts) - 1)]

    def action_move(self, delta: int) -> None:
        """Select the previous/next alert."""
        self.index = max(0, min(len(self.alerts) - 1, self.index + delta))
        self.refresh_lines()
        selected = self.selected
        if selected is not None and self.on_select is not None:
            self.on_select(selected.scope)

    def refresh_lines(self) -> None:
        """Re-render the list."""
        now = self.fixed_now
        if now is None:
            now = self.monitor.now if self.monitor is not None and self.monitor.now else time.time()
        alerts = self.alerts
        width = self.content_region.width
        text = Text(no_wrap=True, overflow="ellipsis")
        if not alerts:
            text.append("No alerts. ", style="dim")
            learning = self.monitor is None or not self.monitor.bootstrapped
            text.append(
                "Baselines learning." if learning else "Everything within its normal band.", style="dim"
            )
        for i, alert in enumerate(alerts):
            if i:
                text.append("\n")
            line = alert_line(alert, now, selected=i == min(self.index, len(alerts) - 1))
            if width > 0:
                line.truncate(width, overflow="ellipsis")
            text.append_text(line)
        self.query_one("#alert-lines", Static).update(text)


def acknowledge_selected(alerts: AlertList) -> None:
    """Prompt for a comment and acknowledge the selected alert (``A``)."""
    from postaltop.core.sanitize import display_text
    from postaltop.ui.widgets.alert_prompts import AckPrompt

    alert, monitor = alerts.selected, alerts.monitor
    if alert is None or monitor is None:
        alerts.notify("No alert to acknowledge", markup=False, severity="warning")
        return
    key = alert.key

    def done(comment: str | None) -> None:
        if comment is not None and monitor.acknowledge(key, comment) is not None:
            alerts.refresh_lines()
            alerts.notify(f"Acknowledged: {display_text(alert.scope.display)}", markup=False, timeout=3)

    alerts.app.push_screen(AckPrompt(display_text(f"{alert.scope.display}: {alert.why}")), done)


def silence_selected(alerts: AlertList) -> None:
    """Prompt for a duration and a reason and silence the selected alert (``S``)."""
    from postaltop.core.sanitize import display_text
    from postaltop.ui.widgets.alert_prompts import SilencePrompt

    alert, monitor = alerts.selected, alerts.monitor
    if alert is None or monitor is None:
        alerts.notify("No alert to silence", markup=False, severity="warning")
        return
    key = alert.key

    def done(answer: tuple[float, str] | None) -> None:
        if answer is not None:
            monitor.silence(key, answer[0], answer[1])
            alerts.refresh_lines()
            alerts.notify(f"Silenced: {display_text(alert.scope.display)}", markup=False, timeout=3)

    alerts.app.push_screen(SilencePrompt(display_text(f"{alert.scope.display}: {alert.why}")), done)

"""The alert list: severity, short scope, what, age, count and state (acked, silenced, held) per alert.

Reads :attr:`postaltop.monitoring.Monitor.alerts`; ``Enter`` opens the selected alert's detail (the full
why, the chart, the history), ``A`` acknowledges it (comment prompt), ``S`` silences it (duration + reason
prompt). Alert text comes partly from logs (IPs, user
names), so everything is rendered as plain :class:`rich.text.Text`, never as markup.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Span, Text
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from postaltop.core.alerts import Alert, AlertEvent, Severity, Transition
from postaltop.core.sanitize import display_text
from postaltop.ui.widgets.alert_rows import alert_line, empty_text, header_line

if TYPE_CHECKING:
    from postaltop.monitoring import Monitor


TOAST_GAP_S = 10.0
"""Fewest real seconds between two critical-alert toasts (an alert storm is one toast, then the list)."""


class AlertList(Widget, can_focus=True):
    """The list of alerts (firing first), refreshed twice a second.

    The selection follows an alert's key, not a row: when the list re-sorts live, the same alert stays
    selected (and ``x``/``Enter`` act on it).
    """

    DEFAULT_CSS = """
    AlertList { height: auto; max-height: 10; min-width: 66; border-top: solid $error; display: none; }
    AlertList.-shown { display: block; }
    AlertList > Static { height: auto; }
    """
    BINDINGS = [
        Binding("up", "move(-1)", "Previous alert", show=False, id="alerts.up"),
        Binding("down", "move(1)", "Next alert", show=False, id="alerts.down"),
        Binding("enter", "open", "Alert detail", id="alerts.open"),
        Binding("A", "acknowledge", "Ack", id="alerts.ack"),
        Binding("S", "silence", "Silence", id="alerts.silence"),
    ]

    class Opened(Message):
        """Enter on an alert: open its detail."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(
        self, monitor: Monitor | None = None, *, widget_id: str | None = None, clock: float | None = None
    ) -> None:
        super().__init__(id=widget_id)
        self.monitor = monitor
        self.selected_key: str | None = None
        """The key of the selected alert (stays on that alert while the list re-sorts)."""
        self._top = 0
        self._shown: tuple[str, list[Span]] | None = None
        self.fixed_now = clock
        """A fixed "now" for snapshots; the monitor's data time otherwise."""
        self._unsubscribe: Callable[[], None] | None = None
        self._last_toast = float("-inf")
        self.on_select: Callable[[Alert], None] | None = None
        """Called with the selected alert (the chart follows the selection)."""

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
    def index(self) -> int:
        """Row of the selected alert (0 when none is selected)."""
        alerts = self.alerts
        for i, alert in enumerate(alerts):
            if alert.key == self.selected_key:
                return i
        return 0

    @property
    def selected(self) -> Alert | None:
        """The selected alert (the first when none was picked, or when the picked one is gone)."""
        alerts = self.alerts
        if not alerts:
            return None
        for alert in alerts:
            if alert.key == self.selected_key:
                return alert
        return alerts[0]

    def select_key(self, key: str) -> None:
        """Select the alert with ``key``."""
        self.selected_key = key
        self.refresh_lines()

    def action_move(self, delta: int) -> None:
        """Select the previous/next alert."""
        alerts = self.alerts
        if not alerts:
            return
        i = max(0, min(len(alerts) - 1, self.index + delta))
        self.selected_key = alerts[i].key
        self.refresh_lines()
        if self.on_select is not None:
            self.on_select(alerts[i])

    def action_open(self) -> None:
        """Open the selected alert's detail."""
        alert = self.selected
        if alert is not None:
            self.selected_key = alert.key
            self.post_message(self.Opened(alert.key))

    def action_acknowledge(self) -> None:
        """Acknowledge the selected alert (comment prompt)."""
        acknowledge_selected(self)

    def action_silence(self) -> None:
        """Silence the selected alert (duration and reason prompt)."""
        silence_selected(self)

    def now(self) -> float:
        """The time ages are measured against."""
        if self.fixed_now is not None:
            return self.fixed_now
        if self.monitor is not None and self.monitor.now:
            return self.monitor.source_clock()
        return time.time()

    def refresh_lines(self) -> None:
        """Re-render the list (only the rows that fit, keeping the selected one in view)."""
        now = self.now()
        alerts = self.alerts
        width = self.content_region.width or 100
        text = Text(no_wrap=True, overflow="ellipsis")
        if not alerts:
            text.append_text(empty_text(self.monitor))
            self._show_lines(text)
            return
        index = self.index
        if self.selected_key is None or all(a.key != self.selected_key for a in alerts):
            self.selected_key = alerts[min(index, len(alerts) - 1)].key
        rows = max(1, (self.content_region.height or 12) - 1)
        if len(alerts) <= rows:
            self._top = 0
        elif index < self._top:
            self._top = index
        elif index >= self._top + rows:
            self._top = index - rows + 1
        self._top = max(0, min(self._top, len(alerts) - rows))
        header = header_line(width)
        if len(alerts) > rows:
            header.append(f"  {index + 1}/{len(alerts)}", style="dim")
        header.truncate(width, overflow="ellipsis")
        text.append_text(header)
        for alert in alerts[self._top : self._top + rows]:
            text.append("\n")
            line = alert_line(alert, now, selected=alert.key == self.selected_key, width=width)
            line.truncate(width, overflow="ellipsis")
            text.append_text(line)
        self._show_lines(text)

    def _show_lines(self, text: Text) -> None:
        """Update the lines when they changed; re-lay the screen out only when their count changed.

        Redrawn twice a second: an update with a layout re-measures every widget of the screen, the
        most expensive frame there is (under a fleet's load it was most of the frames' time).
        """
        key = (text.plain, list(text.spans))
        if key == self._shown:
            return
        layout = self._shown is None or text.plain.count("\n") != self._shown[0].count("\n")
        self._shown = key
        self.query_one("#alert-lines", Static).update(text, layout=layout)


def acknowledge_selected(alerts: AlertList) -> None:
    """Prompt for a comment and acknowledge the selected alert (``A``)."""
    from postaltop.core.sanitize import display_text
    from postaltop.ui.widgets.alert_prompts import AckPrompt

    alert, monitor = alerts.selected, alerts.monitor
    if alert is None or monitor is None:
        alerts.notify("No alert to acknowledge", markup=False, severity="warning")
        return
    if not alert.is_open:
        alerts.notify("This alert is resolved: nothing to acknowledge", markup=False, severity="warning")
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

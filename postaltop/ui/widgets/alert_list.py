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

from postaltop.core.alerts import Alert, AlertEvent, AlertState, Scope, ScopeKind, Severity, Transition
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


SCOPE_SHORT = {
    ScopeKind.CREDENTIAL: "cred",
    ScopeKind.SERVER: "srv",
    ScopeKind.IP: "ip",
    ScopeKind.HOST: "host",
    ScopeKind.DOMAIN: "dom",
    ScopeKind.GLOBAL: "all",
}
"""Scope kinds as the list's narrow scope column shows them."""

PERCENT_METRICS = ("bounce_rate", "spam_rate")
LIMIT_KINDS = ("auth_burst", "static", "novelty", "queue_growth", "ratio:bounce", "ratio:spam", "source_down")
"""Alert kinds whose "expected" is a fixed limit (drawn as a line), not a baseline."""


def cut_middle(text: str, width: int) -> str:
    """``acme/transactional-eu-west`` -> ``acme/tra…eu-west`` (both ends carry meaning in scope names)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def short_scope(scope: Scope, width: int) -> str:
    """``cred main smtp``, ``srv acme/transactional``, ``ip 192.0.2.221``, cut in the middle to ``width``.

    A credential labelled ``name on org/server`` drops its server first when it does not fit.
    """
    if scope.kind is ScopeKind.GLOBAL:
        return "all servers"[:width]
    name = display_text(scope.label or scope.key)
    prefix = SCOPE_SHORT.get(scope.kind, scope.kind.value)
    if scope.kind is ScopeKind.CREDENTIAL and len(prefix) + 1 + len(name) > width and " on " in name:
        name = name.rsplit(" on ", 1)[0]  # ``main smtp on acme/transactional``: the name says more
    return cut_middle(f"{prefix} {name}", width)


def fmt_value(metric: str, value: float | None) -> str:
    """A metric value as the list and the detail show it (``412/min``, ``9%``, ``1,204``)."""
    if value is None or value != value:
        return "-"
    if metric in PERCENT_METRICS:
        return f"{value:.0%}"
    if metric in ("queue_depth", "new_domains", "source_up"):
        return f"{value:,.0f}"
    return f"{value:,.0f}/min" if abs(value) >= 10 else f"{value:,.1f}/min"


def short_what(alert: Alert) -> str:
    """What is wrong, in a few words (the full sentence is in the detail)."""
    kind, metric = alert.kind, alert.metric
    observed, expected = alert.observed, alert.expected
    if kind == "source_down":
        head, _, _ = alert.why.partition(";")
        return head.split(" down: ", 1)[-1] if " down: " in head else head
    if kind == "auth_burst":
        return f"{observed:,.0f} AUTH failures"
    if kind == "novelty":
        return f"{observed:,.0f} new domains"
    if metric == "queue_depth":
        return f"queue {observed:,.0f}" + ("" if expected is None else f" (limit {expected:,.0f})")
    if metric in PERCENT_METRICS:
        limit = "" if expected is None else f" > {expected:.0%}"
        return f"{metric.split('_')[0]} {observed:.0%}{limit}"
    if expected is not None:
        unit = "/min" if metric not in ("queue_depth", "new_domains", "source_up") else ""
        ramp = "ramp: " if kind == "ramp" else ""
        return f"{ramp}{metric} {observed:,.0f} vs {expected:,.0f}{unit}"
    return display_text(alert.why)


def state_label(alert: Alert, now: float) -> tuple[str, str]:
    """The state column: ``acked``, ``silenced 42m``, ``held`` (source down), ``resolved``; and its style."""
    if alert.state is AlertState.RESOLVED:
        return "resolved", "dim"
    if alert.silence is not None:
        left = fmt_age(alert.silence.until - now)
        return ("ack+sil" if alert.ack is not None else "sil " + left), "magenta"
    if alert.ack is not None:
        return "acked", "green"
    if alert.inhibited:
        return "held", "dim"
    return "open", "bold"


STATE_WIDTH = 8
AGE_WIDTH = 3
COUNT_WIDTH = 4


def scope_width(width: int) -> int:
    """Columns of the scope in a list ``width`` columns wide."""
    return max(14, min(28, width // 4))


def alert_line(alert: Alert, now: float, selected: bool = False, width: int = 100) -> Text:
    """One alert as a row: severity, scope, what, age, count, state (``width``: the list's columns)."""
    if alert.state is AlertState.RESOLVED:
        badge, style = " OK ", "dim"
    elif alert.severity is Severity.CRITICAL:
        badge, style = "CRIT", "bold white on red"
    else:
        badge, style = "WARN", "bold black on yellow"
    scope_w = scope_width(width)
    fixed = 2 + 4 + 1 + scope_w + 1 + 1 + AGE_WIDTH + 1 + COUNT_WIDTH + 1 + STATE_WIDTH
    what_w = max(8, width - fixed)
    dim = alert.state is AlertState.RESOLVED or alert.silenced
    line = Text(style="dim" if dim else "")
    line.append("▶ " if selected else "  ", style="bold")
    line.append(badge, style=style)
    line.append(" ")
    line.append(short_scope(alert.scope, scope_w).ljust(scope_w), style="bold")
    line.append(" ")
    what = short_what(alert)
    line.append((what if len(what) <= what_w else what[: what_w - 1] + "…").ljust(what_w))
    since = alert.fired_at or alert.first_seen
    line.append(" " + fmt_age(now - since).rjust(AGE_WIDTH), style="dim")
    count = f"x{alert.count}" if alert.count < 1000 else f"x{min(alert.count // 1000, 9)}k+"
    line.append(" " + count.rjust(COUNT_WIDTH), style="dim")
    label, label_style = state_label(alert, now)
    line.append(" " + label[:STATE_WIDTH].ljust(STATE_WIDTH), style=label_style)
    return line


def header_line(width: int) -> Text:
    """The column titles."""
    scope_w = scope_width(width)
    fixed = 2 + 4 + 1 + scope_w + 1 + 1 + AGE_WIDTH + 1 + COUNT_WIDTH + 1 + STATE_WIDTH
    what_w = max(8, width - fixed)
    return Text(
        "  SEV  "
        + "SCOPE".ljust(scope_w)
        + " "
        + "WHAT".ljust(what_w)
        + " "
        + "AGE".rjust(AGE_WIDTH)
        + " "
        + "COUNT".rjust(COUNT_WIDTH)
        + " "
        + "STATE",
        style="dim bold",
    )


def empty_text(monitor: Monitor | None) -> Text:
    """What an empty list says: never "all normal" while a source is down or baselines are learning."""
    text = Text()
    down = dict(monitor.down_sources) if monitor is not None else {}
    if down:
        shown = ", ".join(
            f"{display_text(name)} ({display_text(why)})" for name, why in list(down.items())[:4]
        )
        more = f" and {len(down) - 4} more" if len(down) > 4 else ""
        text.append("No alerts yet, but ", style="bold")
        text.append(
            f"{len(down)} source{'s' if len(down) != 1 else ''} down: {shown}{more}", style="bold red"
        )
        text.append(". Their alerts are held until they are back.", style="dim")
        return text
    text.append("No alerts. ", style="dim")
    learning = monitor is None or not monitor.bootstrapped
    text.append("Baselines learning." if learning else "Everything within its normal band.", style="dim")
    return text


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

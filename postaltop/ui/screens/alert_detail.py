"""The alert detail (``Enter`` on an alert): everything about one alert, and what to do, one key each.

Top to bottom: the headline (severity, scope, state), the full why, observed against expected, the
chart of the alert's own series (with its band, or its limit), the history of its transitions, the
acknowledgement and the silence, and the keys of the suggested actions. The alert is read again from
the monitor every second, by key, so the screen follows it live (and says when it resolved).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from postaltop.core.alerts import Alert, AlertState, Severity
from postaltop.core.sanitize import display_text
from postaltop.ui.widgets.alert_rows import LIMIT_KINDS, fmt_age, fmt_value, state_label
from postaltop.ui.widgets.rate_chart import RateChart

if TYPE_CHECKING:
    from postaltop.monitoring import Monitor
    from postaltop.runtime.interfaces import ResponseService


def utc(ts: float | None) -> str:
    """``2026-12-03 20:41:07 UTC`` (``-`` for None)."""
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def headline(alert: Alert) -> Text:
    """``CRIT  credential main smtp (#3)  ·  firing  ·  zscore on sent``."""
    text = Text()
    if alert.state is AlertState.RESOLVED:
        text.append(" RESOLVED ", style="bold black on green")
    elif alert.severity is Severity.CRITICAL:
        text.append(" CRITICAL ", style="bold white on red")
    else:
        text.append(" WARNING ", style="bold black on yellow")
    text.append("  ")
    text.append(display_text(alert.scope.display), style="bold")
    text.append(f"  ·  {alert.state.value}  ·  {display_text(alert.kind)} on {display_text(alert.metric)}")
    return text


def facts_table(alert: Alert, now: float, down_since: float | None = None) -> Table:
    """Observed vs expected, ages, count, source, ack and silence as label/value rows."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    limit = alert.kind in LIMIT_KINDS
    expected = fmt_value(alert.metric, alert.expected)
    rows = [
        ("observed", fmt_value(alert.metric, alert.observed)),
        ("limit" if limit else "expected", expected if alert.expected is not None else "no baseline yet"),
        ("first seen", f"{utc(alert.first_seen)} ({fmt_age(now - alert.first_seen)} ago)"),
        ("fired", "not yet (pending)" if alert.fired_at is None else utc(alert.fired_at)),
        ("last seen", f"{utc(alert.last_seen)} ({fmt_age(now - alert.last_seen)} ago)"),
        ("findings", f"{alert.count:,}"),
        ("source", display_text(alert.source)),
    ]
    if down_since is not None:
        rows.append(("down since", f"{utc(down_since)} ({fmt_age(now - down_since)})"))
    if alert.resolved_at is not None:
        rows.append(("resolved", utc(alert.resolved_at)))
    label, _style = state_label(alert, now)
    rows.append(("state", label))
    if alert.inhibited:
        rows.append(("held", "its source is down: neither raised nor resolved until it is back"))
    if alert.ack is not None:
        ack = alert.ack
        rows.append(
            ("acknowledged", f"{display_text(ack.author)} at {utc(ack.at)}: {display_text(ack.comment)}")
        )
    if alert.silence is not None:
        sil = alert.silence
        rows.append(
            (
                "silenced",
                f"until {utc(sil.until)} ({fmt_age(sil.until - now)} left) by {display_text(sil.author)}: "
                f"{display_text(sil.reason)} (matches {display_text(sil.match)})",
            )
        )
    for key, value in rows:
        table.add_row(Text(key), Text(value))
    return table


def history_text(monitor: Monitor, alert: Alert) -> Text:
    """One line per transition, oldest first."""
    text = Text()
    events = monitor.transitions(alert.key)
    if not events:
        text.append("no transitions recorded in this session", style="dim")
        return text
    for i, event in enumerate(events):
        if i:
            text.append("\n")
        text.append(utc(event.at), style="dim")
        text.append(f"  {event.transition.value:<13}", style="bold")
        a = event.alert
        if event.transition.value == "acknowledged" and a.ack is not None:
            text.append(f"{display_text(a.ack.author)}: {display_text(a.ack.comment)}")
        elif event.transition.value == "silenced" and a.silence is not None:
            text.append(f"until {utc(a.silence.until)}: {display_text(a.silence.reason)}")
        else:
            text.append(f"{a.severity.value} · {fmt_value(a.metric, a.observed)}")
    return text


def actions_text(alert: Alert) -> Table:
    """The keys: the suggested action first, then acknowledge, silence and the rest."""
    rows: list[tuple[str, str]] = []
    if alert.action is not None:
        rows.append((alert.action.key or "-", f"suggested: {display_text(alert.action.label)}"))
    if alert.kind != "source_down" and (alert.action is None or alert.action.key != "x"):
        rows.append(("x", "incident actions for this scope"))
    rows += [
        ("A", "acknowledge (with a comment)"),
        ("S", "silence (for a duration, with a reason)"),
        ("w", "chart window (15m, 1h, 6h, 24h, 7d)"),
        ("esc", "back to the list"),
    ]
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, justify="center", min_width=5)
    table.add_column(overflow="fold")
    for key, what in rows:
        table.add_row(Text(f" {key} ", style="bold reverse"), Text(what))
    return table


def response_text(responses: ResponseService, key: str) -> Text:
    """The alert's pending automatic responses (``r`` answers), what became of earlier ones, what waits."""
    pending, answers, waiting = responses.about(key)
    text = Text()
    for item in pending:
        text.append(" PENDING ", style="bold black on yellow")
        text.append(f" {display_text(item.text)} — the {item.mode_note}: ")
        text.append(" r ", style="bold reverse")
        text.append(" review and confirm, Escape in the preview declines\n")
    for answer in answers:
        text.append(display_text(answer.text) + "\n")
    for line in waiting:
        text.append(display_text(line) + "\n", style="dim")
    if not text:
        text.append("no policy answers this alert", style="dim")
    text.rstrip()
    return text


class AlertDetailScreen(Screen[None]):
    """Everything about one alert (followed live by key)."""

    BINDINGS = [
        Binding("escape,q", "close", "Back", id="alert_detail.close"),
        Binding("A", "acknowledge", "Ack", id="alert_detail.ack"),
        Binding("S", "silence", "Silence", id="alert_detail.silence"),
        Binding("x", "actions", "Actions", id="alert_detail.actions"),
        Binding("s", "servers", "Servers", show=False, id="alert_detail.servers"),
        Binding("w", "chart_window", "Chart window", id="alert_detail.chart_window"),
        Binding("r", "respond", "Response", id="alert_detail.respond"),
    ]

    DEFAULT_CSS = """
    AlertDetailScreen VerticalScroll { padding: 0 1; }
    AlertDetailScreen .section { color: $primary; text-style: bold; margin-top: 1; }
    AlertDetailScreen #alert-chart { height: 12; display: block; border-top: none; }
    AlertDetailScreen #alert-why { margin-top: 1; }
    AlertDetailScreen #alert-top { height: auto; }
    AlertDetailScreen #alert-facts-box { width: 3fr; height: auto; }
    AlertDetailScreen #alert-actions-box { width: 2fr; min-width: 36; height: auto; padding-left: 2; }
    """

    def __init__(
        self,
        monitor: Monitor,
        key: str,
        *,
        on_actions: Callable[[Alert], None] | None = None,
        on_servers: Callable[[], None] | None = None,
        clock: float | None = None,
        responses: ResponseService | None = None,
        on_respond: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__()
        self.responses = responses
        """The ``[[respond]]`` policies (their pending response for this alert is shown, ``r`` answers it)."""
        self.on_respond = on_respond
        self.monitor = monitor
        self.key = key
        self.on_actions = on_actions
        self.on_servers = on_servers
        self.fixed_now = clock
        self._last: Alert | None = monitor.alerts_manager.get(key)

    @property
    def alert(self) -> Alert | None:
        """The alert now (the last one seen when the monitor forgot it)."""
        found = self.monitor.alerts_manager.get(self.key)
        if found is not None:
            self._last = found
        return self._last

    def compose(self) -> ComposeResult:
        alert = self.alert
        with VerticalScroll():
            yield Static(id="alert-head")
            yield Static(id="alert-why")
            with Horizontal(id="alert-top"):
                with Vertical(id="alert-facts-box"):
                    yield Static(Text("Observed and expected"), classes="section")
                    yield Static(id="alert-facts")
                with Vertical(id="alert-actions-box"):
                    yield Static(Text("What to do"), classes="section")
                    yield Static(id="alert-actions")
            chart = RateChart(self.monitor, widget_id="alert-chart")
            if alert is not None:
                chart.scope = alert.scope
                chart.metric = alert.metric
                chart.limit = alert.expected
                chart.limit_label = "limit" if alert.kind in LIMIT_KINDS else "expected"
            chart.add_class("-shown")
            yield chart
            if self.responses is not None:
                yield Static(Text("Automatic response"), classes="section")
                yield Static(id="alert-response")
            yield Static(Text("History"), classes="section")
            yield Static(id="alert-history")
        yield Footer()

    def on_mount(self) -> None:
        """Fill in, then follow the alert once a second."""
        self.refresh_detail()
        self.set_interval(1.0, self.refresh_detail)

    def now(self) -> float:
        """The time ages are measured against."""
        return self.fixed_now if self.fixed_now is not None else self.monitor.source_clock()

    def refresh_detail(self) -> None:
        """Redraw from the monitor."""
        alert = self.alert
        if alert is None:
            self.query_one("#alert-head", Static).update(Text("This alert is no longer tracked."))
            return
        now = self.now()
        head = headline(alert)
        if self.monitor.alerts_manager.get(self.key) is None:
            head.append("  (no longer tracked: shown as last seen)", style="dim")
        self.query_one("#alert-head", Static).update(head)
        self.query_one("#alert-why", Static).update(Text(display_text(alert.why)))
        down = self.monitor.down_since(alert.scope.key) if alert.kind == "source_down" else None
        self.query_one("#alert-facts", Static).update(facts_table(alert, now, down))
        self.query_one("#alert-history", Static).update(history_text(self.monitor, alert))
        self.query_one("#alert-actions", Static).update(actions_text(alert))
        if self.responses is not None:
            self.query_one("#alert-response", Static).update(response_text(self.responses, self.key))
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``r`` is offered only while an automatic response to this alert waits for an answer."""
        if action == "respond":
            return self.responses is not None and bool(self.responses.about(self.key)[0])
        return True

    def action_respond(self) -> None:
        """Open this alert's pending automatic response in the action preview (confirm or decline)."""
        if self.on_respond is not None:
            self.on_respond(self.key)

    def action_close(self) -> None:
        """Back to the list."""
        self.dismiss()

    def action_acknowledge(self) -> None:
        """Acknowledge this alert with a comment."""
        from postaltop.ui.widgets.alert_prompts import AckPrompt

        alert = self.alert
        if alert is None or not alert.is_open:
            self.notify("Only an open alert can be acknowledged", markup=False, severity="warning")
            return

        def done(comment: str | None) -> None:
            if comment is not None and self.monitor.acknowledge(self.key, comment) is not None:
                self.refresh_detail()

        self.app.push_screen(AckPrompt(display_text(f"{alert.scope.display}: {alert.why}")), done)

    def action_silence(self) -> None:
        """Silence this alert for a duration, with a reason."""
        from postaltop.ui.widgets.alert_prompts import SilencePrompt

        alert = self.alert
        if alert is None:
            return

        def done(answer: tuple[float, str] | None) -> None:
            if answer is not None:
                self.monitor.silence(self.key, answer[0], answer[1])
                self.refresh_detail()

        self.app.push_screen(SilencePrompt(display_text(f"{alert.scope.display}: {alert.why}")), done)

    def action_actions(self) -> None:
        """The incident actions menu, prefilled with this alert's scope and suggested action."""
        alert = self.alert
        if alert is not None and self.on_actions is not None:
            self.on_actions(alert)

    def action_servers(self) -> None:
        """Back to the main screen with the servers table open (the global alerts' suggestion)."""
        if self.on_servers is not None:
            self.dismiss()
            self.on_servers()

    def action_chart_window(self) -> None:
        """Cycle the chart window."""
        self.query_one(RateChart).action_cycle_window()

"""The main screen: host bar, filter bar, the log panel and the status line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

from postaltop.core.records import record_at
from postaltop.core.view import FilteredView
from postaltop.engine import Engine
from postaltop.monitoring import Monitor
from postaltop.runtime.interfaces import ActionService, FilterHistory, ResponseService
from postaltop.ui.screens import incident_actions as incident
from postaltop.ui.screens.detail import DetailScreen
from postaltop.ui.screens.export import ExportScreen, default_export_path, export_and_tell
from postaltop.ui.screens.trace import open_trace
from postaltop.ui.widgets.filter_bar import FilterBar
from postaltop.ui.widgets.host_bar import HostBar
from postaltop.ui.widgets.insights import Insights
from postaltop.ui.widgets.log_panel import LogPanel
from postaltop.ui.widgets.response_bar import ResponseBar
from postaltop.ui.widgets.servers_table import ServersTable
from postaltop.ui.widgets.status_line import StatusLine

INSIGHTS_MIN_SIZE = (100, 34)
"""Terminal columns and rows from which the chart and the alert list are shown at start (else: keys c/a)."""

LIVE_FILTER_MAX_LINES = 300_000
"""Above this many retained lines, filters apply on Enter only (a live rescan per key would lag)."""


class MainScreen(Screen[None]):
    """Where the user spends their time.

    Top to bottom: host bar, filter bar, the servers table (``s``), the log panel, and the insights band:
    the send-rate chart beside the alert list (shown at start on terminals of at least
    :data:`INSIGHTS_MIN_SIZE`, toggled with ``c`` and ``a``), then the status line and the footer.
    """

    DEFAULT_CSS = """
    MainScreen #insights { height: auto; max-height: 15; }
    MainScreen #insights > RateChart { width: 1fr; }
    MainScreen #insights > AlertList { width: 1fr; height: 14; max-height: 14; border-left: tall $panel; }
    """

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", id="main.filter"),
        Binding("f", "toggle_follow", "Follow/pause", id="main.follow"),
        Binding("e", "export", "Export", id="main.export"),
        Binding("escape", "focus_log", "Log", show=False, id="main.focus_log"),
        Binding("s", "toggle_servers", "Servers", id="main.servers"),
        Binding("T", "trace_message", "Trace message", show=False, id="main.trace"),
        Binding("c", "toggle_chart", "Chart", id="main.chart"),
        Binding("a", "toggle_alerts", "Alerts", id="main.alerts"),
        Binding("A", "acknowledge_alert", "Acknowledge alert", show=False, id="main.ack"),
        Binding("S", "silence_alert", "Silence alert", show=False, id="main.silence"),
        Binding("w", "chart_window", "Chart window", show=False, id="main.chart_window"),
        Binding("x", "actions_menu", "Actions", id="main.actions"),
        Binding("u", "undo_last_action", "Undo action", show=False, id="main.undo"),
        Binding("r", "respond", "Response", id="main.respond"),
    ]

    def __init__(
        self,
        engine: Engine,
        *,
        mode: str,
        follow: bool = True,
        filter_text: str = "",
        history: list[str] | None = None,
        placeholder: str = "Waiting for log lines…",
        persist_filters: bool = True,
        monitor: Monitor | None = None,
        actions: ActionService | None = None,
        filters: FilterHistory | None = None,
        responses: ResponseService | None = None,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.mode = mode
        self.persist_filters = persist_filters
        self.monitor = monitor if monitor is not None else Monitor()
        self.actions = actions
        """Incident actions (``x`` / ``u``), when there is a database or a simulation to act on."""
        self.filters = filters
        """Where applied filters persist (best effort: a failed write never disturbs filtering)."""
        self.responses = responses
        """The ``[[respond]]`` policies, asking before anything runs (None: none, or nothing to act on)."""
        self.view = FilteredView(engine.store, None)
        self._initial_filter = filter_text
        self._history = history or []
        self._follow = follow
        self._placeholder = placeholder
        self._seen_version = -1
        self._hosts_drawn_at = float("-inf")
        self._hosts_drawn = 0

    def compose(self) -> ComposeResult:
        yield HostBar(self.mode)
        yield FilterBar(
            text=self._initial_filter,
            history=self._history,
            view=self.view,
            filters=self.filters if self.persist_filters else None,
            on_shown=self._show_applied,
        )
        panel = LogPanel(self.engine.store, self.view, follow=self._follow, id="log-panel")
        panel.placeholder = self._placeholder
        yield ServersTable(self.engine)
        yield panel
        yield Insights(self.monitor, self.panel_marker_target)
        yield ResponseBar(self.responses, self.monitor, incident.response_preview_opener(self.app))
        yield StatusLine()
        yield Footer()

    @property
    def panel(self) -> LogPanel:
        """The log panel."""
        return self.query_one(LogPanel)

    @property
    def filter_bar(self) -> FilterBar:
        """The filter bar."""
        return self.query_one(FilterBar)

    def on_mount(self) -> None:
        """Apply the saved filter, start the redraw timer."""
        if self._initial_filter.strip() and self.apply_filter(self._initial_filter, final=False):
            self.notify(
                f"Filter from the last session: {self._initial_filter.strip()} (Escape in the bar clears it)",
                markup=False,
                timeout=6,
            )
        self.panel.theme_key = self.app.theme
        min_width, min_height = INSIGHTS_MIN_SIZE
        if self.app.size.width >= min_width and self.app.size.height >= min_height:
            self.insights.show_both()
        self.panel.focus()
        self.set_interval(1.0 / self.engine.refresh_hz, self.tick)
        self.sync()

    # -- redraw -----------------------------------------------------------------------

    def tick(self) -> None:
        """The coalescing timer: redraw only when the engine has new data; host rates once a second."""
        if self.engine.version != self._seen_version:
            self.sync(hosts=False)
        if time.monotonic() - self._hosts_drawn_at >= 1.0:
            self._draw_hosts()
            self.insights.tick()

    def sync(self, *, hosts: bool = True) -> None:
        """Pull everything new from the engine into the widgets now.

        Args:
            hosts: also redraw the host bar now (the timer redraws it once a second).
        """
        self._seen_version = self.engine.version
        self.panel.sync()
        self._draw_counts()
        if hosts or len(self.engine.hosts) != self._hosts_drawn:
            self._draw_hosts()
        self._draw_status()

    def _draw_counts(self) -> None:
        # Drawn with the panel and the status line on every sync, so the count beside the filter, the
        # status line's total and the view always agree (the label is only re-rendered when it changes).
        self.filter_bar.show_count(len(self.view), len(self.engine.store))
        self.filter_bar.live = len(self.engine.store) <= LIVE_FILTER_MAX_LINES

    def _draw_hosts(self) -> None:
        self._hosts_drawn_at = time.monotonic()
        self._hosts_drawn = len(self.engine.hosts)
        bar = self.query_one(HostBar)
        if self.engine.sim_time is not None:
            bar.set_mode(f"{self.mode} · {time.strftime('%H:%M:%S', time.gmtime(self.engine.sim_time))} UTC")
        bar.show(self.engine.hosts, self.engine.host_rates())

    def _draw_status(self) -> None:
        panel = self.panel
        self.query_one(StatusLine).show(
            follow=panel.follow,
            new_lines=panel.new_lines,
            retained=len(self.engine.store),
            theme=self.app.theme,
            behind=self.engine.behind_text(),
            evicted=self.engine.store.start_seq,
        )

    def on_log_panel_follow_changed(self, _message: LogPanel.FollowChanged) -> None:
        """Follow state or paused count changed."""
        self._draw_status()

    # -- filter (the filter bar owns it) ----------------------------------------------------

    ASYNC_FILTER_LINES = 200_000
    """Above this many retained lines a filter is applied in a worker thread (a re-apply over a
    million lines takes 0.2-0.4 s); the previous result stays on screen until the new one is ready."""

    def apply_filter(self, text: str, *, final: bool) -> bool:
        """Parse and apply a filter; on error show it and keep the previous one.

        Returns:
            True when the filter was applied.
        """
        threaded = len(self.engine.store) > self.ASYNC_FILTER_LINES
        return self.filter_bar.apply(text, final=final, now=self.engine.clock(), threaded=threaded)

    def _show_applied(self, text: str) -> None:
        """The view holds the new filter's result: redraw."""
        self.panel.placeholder = "No line matches the filter" if text.strip() else self._placeholder
        self.panel.reset_view()
        self._draw_counts()
        self._draw_status()

    def on_filter_bar_applied(self, message: FilterBar.Applied) -> None:
        """Enter (final) or the live debounce in the filter input."""
        applied = self.apply_filter(message.text, final=message.final)
        if applied and message.final:
            self.panel.focus()

    def action_focus_filter(self) -> None:
        """Focus the filter input."""
        self.filter_bar.input.focus()

    def action_focus_log(self) -> None:
        """Give the keyboard back to the log panel."""
        self.panel.focus()

    def action_clear_filter(self) -> None:
        """Remove the filter."""
        self.filter_bar.clear()

    # -- follow, detail, export -------------------------------------------------------

    def action_toggle_follow(self) -> None:
        """Pause or resume following."""
        self.panel.action_toggle_follow()
        self._draw_status()

    def on_log_panel_detail_requested(self, message: LogPanel.DetailRequested) -> None:
        """Open the detail screen of one event."""
        if message.seq in self.engine.store:
            self.app.push_screen(DetailScreen(record_at(self.engine.store, message.seq)))

    def default_export_path(self) -> Path:
        """``<XDG data>/postaltop/exports/postaltop-<time>.jsonl``."""
        return default_export_path(self.engine.clock())

    def action_export(self) -> None:
        """Ask for a path, then export the filtered view there."""

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.run_worker(self.export_to(path), group="export", exclusive=True)

        self.app.push_screen(ExportScreen(self.default_export_path(), len(self.view)), chosen)

    async def export_to(self, path: Path) -> int:
        """Export the filtered view to ``path`` and tell the user where it went (-1 on failure)."""
        return await export_and_tell(self, self.view, self.engine.store, path)

    # -- servers table --

    @property
    def servers_table(self) -> ServersTable:
        """The servers table (hidden until ``s``)."""
        return self.query_one(ServersTable)

    def action_toggle_servers(self) -> None:
        """Show the servers table (and focus it) or hide it again."""
        if not self.servers_table.toggle():
            self.panel.focus()

    def on_servers_table_server_selected(self, message: ServersTable.ServerSelected) -> None:
        """Enter on a server: narrow the log to the lines that name it (a visible, clearable filter)."""
        from postaltop.core.sanitize import display_text
        from postaltop.ui.widgets.servers_table import narrowing_filter

        text = narrowing_filter(message.info)
        self.filter_bar.set_text(text)
        if self.apply_filter(text, final=True):
            self.panel.focus()
            self.notify(
                f"Log narrowed to {display_text(message.info.full_permalink)}; clear the filter for all",
                markup=False,
                timeout=4,
            )

    # -- message trace --

    def action_trace_message(self) -> None:
        """Open the trace of the message the selected event is about."""
        seq = self.panel.selected_seq
        if seq is None or seq not in self.engine.store:
            self.notify("No event is selected", markup=False, severity="warning")
            return
        open_trace(self.app, self.engine.store, record_at(self.engine.store, seq).text)

    # -- detection: chart and alerts (the insights band owns them) -------------------------

    @property
    def insights(self) -> Insights:
        """The chart and the alert list."""
        return self.query_one(Insights)

    def panel_marker_target(self, marker: object) -> None:
        """Give the log panel the inline-marker lookup (called once while composing)."""
        self.call_after_refresh(lambda: setattr(self.panel, "marker", marker))

    def action_toggle_chart(self) -> None:
        """Show or hide the send-rate chart."""
        self.insights.toggle_chart()

    def action_chart_window(self) -> None:
        """Cycle the chart window (15m, 1h, 6h, 24h, 7d); shows the chart."""
        self.insights.cycle_chart_window()

    def action_toggle_alerts(self) -> None:
        """Show and select the alert list; pressed again while it is selected, hide it."""
        self.insights.toggle_alerts(self.panel)

    def action_acknowledge_alert(self) -> None:
        """Acknowledge the selected alert with a comment."""
        self.insights.acknowledge()

    def action_silence_alert(self) -> None:
        """Silence the selected alert for a duration, with a reason."""
        self.insights.silence()

    def on_alert_list_opened(self, message: Any) -> None:
        """Enter on an alert: its detail screen (with its pending automatic responses)."""
        from postaltop.ui.screens.alert_detail import AlertDetailScreen

        bar = self.response_bar
        self.app.push_screen(
            AlertDetailScreen(
                self.insights.monitor,
                message.key,
                on_actions=self.open_actions_for_alert,
                on_servers=self._show_servers,
                responses=self.responses,
                on_respond=bar.open_next if self.responses is not None else None,
            )
        )

    def _show_servers(self) -> None:
        if not self.servers_table.has_class("-shown"):
            self.action_toggle_servers()

    # -- automatic responses (the response bar owns them) ---------------------------------

    @property
    def response_bar(self) -> ResponseBar:
        """The pending automatic responses."""
        return self.query_one(ResponseBar)

    def action_respond(self) -> None:
        """Open the oldest pending automatic response in the action preview (confirm or decline)."""
        self.response_bar.open_next()

    def on_response_bar_changed(self, _message: ResponseBar.Changed) -> None:
        """A response became pending or was answered: show or hide ``r`` in the footer."""
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``r`` is offered (and shown in the footer) only while a response waits for an answer."""
        if action == "respond":
            return self.is_mounted and bool(self.query(ResponseBar)) and self.response_bar.has_pending
        return True

    # -- incident actions --

    def open_actions_for_alert(self, alert: Any) -> None:
        """The actions menu prefilled with ``alert``'s scope and suggested action."""
        self.action_actions_menu(incident.alert_context(alert))

    def action_actions_menu(self, context: Any = None) -> None:
        """Open the actions menu for the selected line's server/credential (or typed targets)."""
        if context is None and self.actions is not None:
            table = self.servers_table if self.servers_table.focused_here else None
            seq = self.panel.selected_seq
            line = None if seq is None else self.engine.store.event(seq).text
            context = incident.focused_context(self.insights.focused_alert(), table, line)
        incident.open_actions_menu(self.app, self.actions, context)

    def action_undo_last_action(self) -> None:
        """Preview (and confirm) the undo of the last action."""
        if self.actions is None:
            self.notify("No action to undo: actions are not available here.", markup=False)
            return
        self.run_worker(incident.open_undo(self.app, self.actions), group="actions-undo", exclusive=True)

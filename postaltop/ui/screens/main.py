"""The main screen: host bar, filter bar, the log panel and the status line."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer

from postaltop import locations
from postaltop.core.query import Query, QueryError, parse_query
from postaltop.core.records import record_at
from postaltop.core.view import FilteredView
from postaltop.engine import Engine
from postaltop.monitoring import Monitor
from postaltop.runtime.interfaces import ActionService, FilterHistory
from postaltop.ui.screens.detail import DetailScreen
from postaltop.ui.screens.export import ExportScreen, export_view
from postaltop.ui.screens.trace import open_trace
from postaltop.ui.widgets.filter_bar import FilterBar
from postaltop.ui.widgets.host_bar import HostBar
from postaltop.ui.widgets.log_panel import LogPanel
from postaltop.ui.widgets.rate_chart import RateChart, detection_widgets
from postaltop.ui.widgets.servers_table import ServersTable
from postaltop.ui.widgets.status_line import StatusLine

INSIGHTS_MIN_SIZE = (100, 34)
"""Terminal columns and rows from which the chart and the alert list are shown at start (else: keys c/a)."""

LIVE_FILTER_MAX_LINES = 300_000
"""Above this many retained lines, filters apply on Enter only (a live rescan per key would lag)."""


def query_error_text(exc: QueryError) -> str:
    """``invalid filter: message (column N)`` for the inline error (plain text)."""
    message = exc.message or str(exc)
    if "column" not in message:
        message += f" (column {exc.position + 1})"
    return f"invalid filter: {message}"


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
        yield FilterBar(text=self._initial_filter, history=self._history)
        panel = LogPanel(self.engine.store, self.view, follow=self._follow, id="log-panel")
        panel.placeholder = self._placeholder
        yield ServersTable(self.engine)
        yield panel
        with Horizontal(id="insights"):
            yield from detection_widgets(self.monitor, self.panel_marker_target)
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
            self.query_one(RateChart).add_class("-shown")
            self.query_one("#insights").query("AlertList").add_class("-shown")
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
            self._check_sources()

    def _check_sources(self) -> None:
        """Once a second: the monitor turns host states into source-health alerts (and inhibitions)."""
        for alerts in self.query("AlertList"):
            monitor = getattr(alerts, "monitor", None)
            if monitor is not None:
                monitor.tick()

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

    # -- filter -----------------------------------------------------------------------

    def apply_filter(self, text: str, *, final: bool) -> bool:
        """Parse and apply a filter; on error show it and keep the previous one.

        Returns:
            True when the filter was applied.
        """
        bar = self.filter_bar
        try:
            query = parse_query(text, now=self.engine.clock())
        except QueryError as exc:
            bar.show_error(query_error_text(exc))
            return False
        self._filter_generation += 1
        if len(self.engine.store) > self.ASYNC_FILTER_LINES:
            generation = self._filter_generation
            work = self._apply_in_thread(query, text, final, generation)
            self.run_worker(work, group="filter")
            return True
        self.view.set_query(query)
        self._show_applied(text, final=final)
        return True

    ASYNC_FILTER_LINES = 200_000
    """Above this many retained lines a filter is applied in a worker thread (a re-apply over a
    million lines takes 0.2-0.4 s); the previous result stays on screen until the new one is ready."""

    _filter_generation = 0
    """Counts filter requests, so a slow result never replaces a newer filter's."""

    async def _apply_in_thread(self, query: Query, text: str, final: bool, generation: int) -> None:
        prepared = await asyncio.to_thread(self.view.prepare, query)
        if generation != self._filter_generation:
            return  # a newer filter was asked for meanwhile
        self.view.install(prepared)
        self._show_applied(text, final=final)

    def _show_applied(self, text: str, *, final: bool) -> None:
        """The view holds the new filter's result: redraw and remember it."""
        bar = self.filter_bar
        bar.active_text = text
        self.panel.placeholder = "No line matches the filter" if text.strip() else self._placeholder
        self.panel.reset_view()
        self._draw_counts()
        self._draw_status()
        if final:
            bar.remember(text)
            if self.persist_filters and self.filters is not None:
                self.filters.save(text, bar.history)

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
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(self.engine.clock()))
        return locations.data_dir() / "exports" / f"postaltop-{stamp}.jsonl"

    def action_export(self) -> None:
        """Ask for a path, then export the filtered view there."""

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.run_worker(self.export_to(path), group="export", exclusive=True)

        self.app.push_screen(ExportScreen(self.default_export_path(), len(self.view)), chosen)

    async def export_to(self, path: Path) -> int:
        """Export the filtered view to ``path`` and tell the user where it went.

        Returns:
            Lines written (-1 on failure).
        """
        try:
            count = await export_view(self.view, self.engine.store, path)
        except OSError as exc:
            self.notify(f"Export to {path} failed: {exc.strerror or exc}", severity="error", markup=False)
            return -1
        self.notify(f"Exported {count:,} lines to {path}", markup=False, timeout=8)
        return count

    # -- servers table --

    @property
    def servers_table(self) -> ServersTable:
        """The servers table (hidden until ``s``)."""
        return self.query_one(ServersTable)

    def action_toggle_servers(self) -> None:
        """Show the servers table (and focus it) or hide it again."""
        table = self.servers_table
        if table.has_class("-shown"):
            table.remove_class("-shown")
            self.panel.focus()
            return
        table.add_class("-shown")
        table.refresh_from_engine()
        table.table.focus()

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

    # -- detection: chart, alerts, inline markers --

    def panel_marker_target(self, marker: object) -> None:
        """Give the log panel the inline-marker lookup (called once while composing)."""
        self.call_after_refresh(lambda: setattr(self.panel, "marker", marker))

    def action_toggle_chart(self) -> None:
        """Show or hide the send-rate chart."""
        self.query_one(RateChart).toggle_class("-shown")

    def action_chart_window(self) -> None:
        """Cycle the chart window (15m, 1h, 6h, 24h, 7d); shows the chart."""
        chart = self.query_one(RateChart)
        chart.add_class("-shown")
        chart.action_cycle_window()

    def action_toggle_alerts(self) -> None:
        """Show and select the alert list; pressed again while it is selected, hide it."""
        from postaltop.ui.widgets.alert_list import AlertList

        alerts = self.query_one(AlertList)
        if alerts.has_class("-shown") and not alerts.has_focus:
            alerts.focus()  # shown at start: the first press selects the list, the next hides it
            return
        alerts.toggle_class("-shown")
        if alerts.has_class("-shown"):
            alerts.focus()
        else:
            self.panel.focus()

    def action_acknowledge_alert(self) -> None:
        """Acknowledge the selected alert with a comment."""
        from postaltop.ui.widgets.alert_list import AlertList, acknowledge_selected

        acknowledge_selected(self.query_one(AlertList))

    def action_silence_alert(self) -> None:
        """Silence the selected alert for a duration, with a reason."""
        from postaltop.ui.widgets.alert_list import AlertList, silence_selected

        silence_selected(self.query_one(AlertList))

    def on_alert_list_opened(self, message: Any) -> None:
        """Enter on an alert: its detail screen."""
        from postaltop.ui.screens.alert_detail import AlertDetailScreen
        from postaltop.ui.widgets.alert_list import AlertList

        monitor = self.query_one(AlertList).monitor
        if monitor is None:
            return
        self.app.push_screen(
            AlertDetailScreen(
                monitor, message.key, on_actions=self.open_actions_for_alert, on_servers=self._show_servers
            )
        )

    def _show_servers(self) -> None:
        if not self.servers_table.has_class("-shown"):
            self.action_toggle_servers()

    def open_actions_for_alert(self, alert: Any) -> None:
        """The actions menu prefilled with ``alert``'s scope and suggested action."""
        from postaltop.core.actions.context import context_from_alert

        action_id = getattr(getattr(alert, "action", None), "action_id", "")
        self.action_actions_menu(context_from_alert(alert.scope.kind.value, alert.scope.key, action_id))

    # -- incident actions --

    def action_actions_menu(self, context: Any = None) -> None:
        """Open the actions menu for the selected line's server/credential (or typed targets)."""
        from postaltop.core.actions.context import ActionContext, context_from_text
        from postaltop.ui.screens.actions import ActionsScreen

        if self.actions is None:
            self.notify(
                "Actions need the database: configure [database] (and [actions] enabled = true); "
                "in `postaltop demo` they work on the simulation.",
                severity="warning",
                markup=False,
                timeout=8,
            )
            return
        if context is None:
            context = self._action_context()
        if context is None:
            seq = self.panel.selected_seq
            context = ActionContext() if seq is None else context_from_text(self.engine.store.event(seq).text)
        self.app.push_screen(ActionsScreen(self.actions, context))

    def _action_context(self) -> Any:
        """The target from the focused alert list (its scope + suggested action) or servers table, if any."""
        from postaltop.core.actions.context import ActionContext, context_from_alert

        focused = self.app.focused
        for node in self.query("AlertList"):
            if focused is node:
                alert = getattr(node, "selected", None)
                if alert is not None:
                    scope = alert.scope
                    action_id = getattr(getattr(alert, "action", None), "action_id", "")
                    return context_from_alert(scope.kind.value, scope.key, action_id)
        for table in self.query(ServersTable):
            if table.has_class("-shown") and focused is not None and table in focused.ancestors_with_self:
                info = table.selected_info()
                if info is not None:
                    return ActionContext(f"{info.org_permalink}/{info.permalink}")
        return None

    def action_undo_last_action(self) -> None:
        """Preview (and confirm) the undo of the last action."""
        if self.actions is None:
            self.notify("No action to undo: actions are not available here.", markup=False)
            return
        self.run_worker(self._open_undo(self.actions), group="actions-undo", exclusive=True)

    async def _open_undo(self, actions: ActionService) -> None:
        from postaltop.core.actions import PlanError
        from postaltop.ui.screens.action_preview import ActionPreviewScreen

        try:
            plan = actions.last_undo_plan()
            preview = await actions.preview(plan)
        except PlanError as exc:
            self.notify(str(exc), markup=False, timeout=6)
            return
        self.app.push_screen(ActionPreviewScreen(actions, plan, preview))

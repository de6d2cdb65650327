"""The insights band under the log: the send-rate chart beside the alert list, and what their keys do.

The main screen's ``c``, ``w``, ``a``, ``A``, ``S`` work wherever the focus is, so they stay bindings of the
screen (with their ids); what they do lives here, next to the widgets they act on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget

from postaltop.ui.widgets.rate_chart import RateChart, detection_widgets

if TYPE_CHECKING:
    from postaltop.monitoring import Monitor
    from postaltop.ui.widgets.alert_list import AlertList


class Insights(Horizontal):
    """The chart and the alert list of ``monitor``; ``set_marker`` gives the log panel its marker lookup."""

    def __init__(self, monitor: Monitor, set_marker: Callable[[Any], None]) -> None:
        super().__init__(id="insights")
        self.monitor = monitor
        self._set_marker = set_marker

    def compose(self) -> ComposeResult:
        yield from detection_widgets(self.monitor, self._set_marker)

    @property
    def chart(self) -> RateChart:
        """The send-rate chart."""
        return self.query_one(RateChart)

    @property
    def alerts(self) -> AlertList:
        """The alert list."""
        from postaltop.ui.widgets.alert_list import AlertList

        return self.query_one(AlertList)

    def show_both(self) -> None:
        """Show the chart and the alert list (a terminal large enough for them at start)."""
        self.chart.add_class("-shown")
        self.alerts.add_class("-shown")

    def toggle_chart(self) -> None:
        """Show or hide the send-rate chart."""
        self.chart.toggle_class("-shown")

    def cycle_chart_window(self) -> None:
        """Cycle the chart window (15m, 1h, 6h, 24h, 7d); shows the chart."""
        chart = self.chart
        chart.add_class("-shown")
        chart.action_cycle_window()

    def toggle_alerts(self, back_to: Widget) -> None:
        """Show and select the alert list; pressed again while it is selected, hide it (focus ``back_to``)."""
        alerts = self.alerts
        if alerts.has_class("-shown") and not alerts.has_focus:
            alerts.focus()  # shown at start: the first press selects the list, the next hides it
            return
        alerts.toggle_class("-shown")
        if alerts.has_class("-shown"):
            alerts.focus()
        else:
            back_to.focus()

    def acknowledge(self) -> None:
        """Acknowledge the selected alert with a comment."""
        from postaltop.ui.widgets.alert_list import acknowledge_selected

        acknowledge_selected(self.alerts)

    def silence(self) -> None:
        """Silence the selected alert for a duration, with a reason."""
        from postaltop.ui.widgets.alert_list import silence_selected

        silence_selected(self.alerts)

    def tick(self) -> None:
        """Once a second: the monitor turns host states into source-health alerts (and inhibitions)."""
        monitor = getattr(self.alerts, "monitor", None)
        if monitor is not None:
            monitor.tick()

    def focused_alert(self) -> Any:
        """The selected alert when the alert list has the focus (the actions menu's target), else None."""
        alerts = self.alerts
        return alerts.selected if self.app.focused is alerts else None

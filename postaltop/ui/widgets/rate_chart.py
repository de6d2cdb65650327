"""The live send-rate chart: per-minute sent, bounced and held for one scope, against the baseline band.

Draws from :meth:`postaltop.monitoring.Monitor.series`; never more than twice a second (a timer checks
whether the monitor's data time moved). ``w`` cycles the window (15m/1h/6h/24h/7d), ``[``/``]`` the scope.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.widget import Widget
from textual_plotext import PlotextPlot

from postaltop.core.alerts import GLOBAL, Alert, Scope, Severity

if TYPE_CHECKING:
    from postaltop.monitoring import Monitor

WINDOWS: tuple[tuple[str, float], ...] = (
    ("15m", 900),
    ("1h", 3600),
    ("6h", 6 * 3600),
    ("24h", 86400),
    ("7d", 7 * 86400),
)
"""Chart windows, cycled by ``w``."""
MAX_HZ = 2.0
"""Most redraws per second."""
MAX_POINTS = 120
"""Most points per line (longer windows are averaged over a few minutes): plotext's cost grows with points."""


def _clean(values: list[float]) -> list[float]:
    return [v if math.isfinite(v) else 0.0 for v in values]


def corners(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    """Only the points where a piecewise-constant line changes (plotext joins them): far fewer to draw."""
    keep_x: list[float] = []
    keep_y: list[float] = []
    n = len(ys)
    for i in range(n):
        if i in (0, n - 1) or ys[i] != ys[i - 1] or ys[i] != ys[i + 1]:
            keep_x.append(xs[i])
            keep_y.append(ys[i])
    return keep_x, keep_y


TITLE_MARGIN = 10
"""Columns of the chart not under its title: the y-axis labels (up to ``99999.9┤``) and the border."""


def chart_title(scope: str, window: str, state: str, width: int) -> str:
    """The title for a chart ``width`` columns wide (0: unknown).

    plotext draws no title at all when it is wider than the plot area, so the explanation of the band
    goes first, then the words "per minute", and a scope name that still does not fit is cut with "…".
    """
    candidates = (
        f"{scope} · per minute · {window} · {state}",
        f"{scope} · per minute · {window}",
        f"{scope} · {window}",
    )
    budget = width - TITLE_MARGIN
    if width <= 0:
        return candidates[0]
    for title in candidates:
        if len(title) <= budget:
            return title
    return candidates[-1][: max(budget - 1, 1)] + "…"


def first_finite(values: list[float]) -> int:
    """Index of the first number (the series starts there; before it there was no data)."""
    for i, v in enumerate(values):
        if math.isfinite(v):
            return i
    return len(values)


class RateChart(PlotextPlot, can_focus=True):
    """Sent/bounced/held per minute for the selected scope, with the expected line, band and anomaly marks."""

    DEFAULT_CSS = """
    RateChart { height: 14; border-top: solid $primary-darken-2; display: none; }
    RateChart.-shown { display: block; }
    """
    BINDINGS = [
        Binding("w", "cycle_window", "Chart window", show=False),
        Binding("right_square_bracket", "next_scope", "Next scope", show=False),
        Binding("left_square_bracket", "previous_scope", "Previous scope", show=False),
    ]

    def __init__(self, monitor: Monitor | None = None, *, widget_id: str | None = None) -> None:
        super().__init__(id=widget_id)
        self.monitor = monitor
        self.window_index = 1
        self.scope: Scope = GLOBAL
        self.metric = "sent"
        """The metric charted (``sent`` also draws bounced and held; the alert detail charts its own)."""
        self.limit: float | None = None
        """A fixed limit drawn as a line (an alert's threshold), None for none."""
        self.limit_label = "limit"
        """The legend of that line (``expected`` for an alert's own expectation, drawn while no band)."""
        self._drawn_at = -1.0
        self.redraws = 0

    def on_mount(self) -> None:
        """Redraw on a timer, at most :data:`MAX_HZ` times a second."""
        self.set_interval(1.0 / MAX_HZ, self._tick)
        self.redraw()

    @property
    def window(self) -> tuple[str, float]:
        """(label, seconds) of the current window."""
        return WINDOWS[self.window_index]

    def _tick(self) -> None:
        if self.monitor is not None and self.monitor.now != self._drawn_at and self.display:
            self.redraw()

    def action_cycle_window(self) -> None:
        """Next window (15m → 1h → 6h → 24h → 7d → 15m)."""
        self.window_index = (self.window_index + 1) % len(WINDOWS)
        self.redraw()

    def _step_scope(self, delta: int) -> None:
        if self.monitor is None:
            return
        scopes = self.monitor.scopes()
        i = scopes.index(self.scope) if self.scope in scopes else 0
        self.set_scope(scopes[(i + delta) % len(scopes)])

    def action_next_scope(self) -> None:
        """Chart the next scope (global, servers, credentials, domains)."""
        self._step_scope(1)

    def action_previous_scope(self) -> None:
        """Chart the previous scope."""
        self._step_scope(-1)

    def set_scope(self, scope: Scope) -> None:
        """Chart the sent/bounced/held of ``scope``."""
        self.scope = scope
        self.metric = "sent"
        self.limit = None
        self.limit_label = "limit"
        self.redraw()

    def show_alert(self, alert: Alert) -> None:
        """Chart what ``alert`` is about: its scope's series of its metric, with its limit if it has one."""
        from postaltop.ui.widgets.alert_rows import LIMIT_KINDS

        self.scope = alert.scope
        has_own = self.monitor is not None and self.monitor.has_series(alert.scope, alert.metric)
        self.metric = alert.metric if has_own else "sent"
        self.limit = alert.expected if has_own else None
        self.limit_label = "limit" if alert.kind in LIMIT_KINDS else "expected"
        self.redraw()

    def redraw(self) -> None:
        """Rebuild the plot from the monitor's series (cheap: at most a few hundred points per line)."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        label, seconds = self.window
        monitor = self.monitor
        if monitor is None:
            plt.title("no data")
            self.refresh()
            return
        self._drawn_at = monitor.now
        self.redraws += 1
        metric = self.metric
        sent = monitor.series(self.scope, metric, seconds, max_points=MAX_POINTS)
        unit = 60.0 if sent.step == 60 else 3600.0
        end = sent.times[-1] if sent.times else 0.0
        xs = [(t - end) / unit for t in sent.times]
        if not sent.learning:
            plt.plot(*corners(xs, _clean(sent.high)), color="gray", marker="dot", label="normal band")
            plt.plot(*corners(xs, _clean(sent.low)), color="gray", marker="dot")
            plt.plot(*corners(xs, _clean(sent.expected)), color="cyan", marker="dot", label="expected")
        start = first_finite(sent.values)
        if start < len(xs):
            plt.plot(xs[start:], _clean(sent.values[start:]), color="green", marker="hd", label=metric)
        if self.limit is not None and xs and (self.limit_label == "limit" or sent.learning):
            line = [self.limit, self.limit]
            plt.plot([xs[0], xs[-1]], line, color="orange", marker="dot", label=self.limit_label)
        for other, color in (("bounced", "red"), ("held", "yellow")) if metric == "sent" else ():
            view = monitor.series(self.scope, other, seconds, max_points=MAX_POINTS, band=False)
            if any(math.isfinite(v) and v > 0 for v in view.values):
                i = first_finite(view.values)
                plt.plot(xs[i:], _clean(view.values[i:]), color=color, marker="hd", label=other)
        if sent.markers:
            # findings are stamped at the end of the minute they judged: mark that minute
            mx = [max(xs[0], (t - sent.step - end) / unit) for t, _ in sent.markers]
            top = max([v for v in _clean(sent.values)] + [1.0])
            critical = any(s is Severity.CRITICAL for _, s in sent.markers)
            plt.scatter(
                mx, [top] * len(mx), marker="x", color="red" if critical else "orange", label="anomaly"
            )
        if not sent.learning:
            state = "band = expected +/- 3 sd"
        elif self.limit is not None:
            state = "against its limit" if self.limit_label == "limit" else "against the alert's expectation"
        else:
            state = "learning (no baseline yet)"
        name = self.scope.display if metric == "sent" else f"{self.scope.display} · {metric}"
        plt.title(chart_title(name, label, state, self.size.width))
        plt.xlabel("minutes ago" if unit == 60 else "hours ago")
        self.refresh()


def detection_widgets(
    monitor: Monitor, set_marker: Callable[[Callable[[int], str | None]], None]
) -> Iterator[Widget]:
    """The chart and the alert list of ``monitor`` (both hidden until ``c``/``a``).

    Also hands the log panel its inline-marker lookup through ``set_marker``.
    """
    from postaltop.monitoring import marker_style
    from postaltop.ui.widgets.alert_list import AlertList

    set_marker(lambda seq: marker_style(monitor.marked.get(seq)) if monitor.marked else None)
    chart = RateChart(monitor)
    alerts = AlertList(monitor)
    alerts.on_select = chart.show_alert
    yield chart
    yield alerts

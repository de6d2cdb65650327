"""Detection glue without Textual: engine facts + metric polls -> per-minute series -> detectors -> alerts.

A :class:`Monitor` subscribes to an :class:`~postaltop.engine.Engine` (``on_facts`` and ``on_metrics``),
keeps per-minute series per (scope, metric), feeds the hour-of-week :class:`Baselines` and the detectors
of :mod:`postaltop.core.detect`, and owns the :class:`AlertManager`. The TUI (chart, alert list, log
markers) and the headless ``watch`` both use it; :mod:`postaltop.runtime` builds it (``build_monitor``)::

    monitor = Monitor(settings=settings.detection)
    monitor.attach(engine)
    monitor.bootstrap(history_points, servers)      # at first connect (Postal's stats tables)
    monitor.on_alert(lambda event: ...)             # fired / escalated / resolved / ...
    view = monitor.series(scope, "sent", 3600)      # for the chart

Time is the data's time (the poll's ``sampled_at``, the line's ``ts``), so an accelerated demo runs the
same code as production. A minute is judged once a later minute has been seen (polls every few seconds
make that a few seconds late).

The monitor is built in layers, one module each, from the bottom: :mod:`~postaltop.monitoring.state`
(settings, detectors, lifecycle, stores), :mod:`~postaltop.monitoring.chart` (what the TUI reads),
:mod:`~postaltop.monitoring.minutes` (per-minute series and their judgement),
:mod:`~postaltop.monitoring.health` (source health), :mod:`~postaltop.monitoring.connect` (the state at
first connect) and :mod:`~postaltop.monitoring.monitor` (polls and facts in).
"""

from __future__ import annotations

from collections.abc import Mapping

from postaltop.core.alerts import Scope, ScopeKind, Severity
from postaltop.core.dbmetrics import ServerInfo
from postaltop.core.recent_baseline import RECENT_MIN_POINTS, RECENT_MINUTES
from postaltop.monitoring.monitor import Monitor
from postaltop.monitoring.series import HOURS_KEPT, MINUTES_KEPT, SeriesView
from postaltop.monitoring.state import (
    BASELINE_RATIO_MIN_VOLUME,
    DOWN_STATES,
    MAX_MARKED,
    MAX_SIDE_SERIES,
    MAX_TRANSITIONS,
    RATE_METRICS,
    SOURCE_DOWN_GRACE,
    HistoryProvider,
    StateProvider,
)

__all__ = [
    "BASELINE_RATIO_MIN_VOLUME",
    "DOWN_STATES",
    "HOURS_KEPT",
    "MAX_MARKED",
    "MAX_SIDE_SERIES",
    "MAX_TRANSITIONS",
    "MINUTES_KEPT",
    "RATE_METRICS",
    "RECENT_MINUTES",
    "RECENT_MIN_POINTS",
    "SOURCE_DOWN_GRACE",
    "HistoryProvider",
    "Monitor",
    "SeriesView",
    "StateProvider",
    "history_scopes",
    "marker_style",
]


def marker_style(severity: Severity | None) -> str | None:
    """Style of the log panel's inline marker for a line that raised an alert."""
    if severity is None:
        return None
    return "bold red" if severity is Severity.CRITICAL else "bold yellow"


def history_scopes(servers: Mapping[int, ServerInfo]) -> dict[int, Scope]:
    """Scopes of discovered servers by id (for :meth:`Baselines.bootstrap`)."""
    return {sid: Scope(ScopeKind.SERVER, info.full_permalink) for sid, info in servers.items()}

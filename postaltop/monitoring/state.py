"""The monitor's state: its settings, detectors, alert lifecycle and stores, and the limits they keep to."""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from postaltop.core.alerts import (
    Alert,
    AlertEvent,
    AlertManager,
    LifecycleSettings,
    Scope,
    ScopeKind,
    Severity,
)
from postaltop.core.baseline import Baselines, BaselineSettings
from postaltop.core.connect_state import ConnectRequest, ConnectState
from postaltop.core.dbmetrics import PollResult, ServerInfo
from postaltop.core.detect.burst import AuthBurstDetector, BurstSettings
from postaltop.core.detect.novelty import NoveltyDetector, NoveltySettings
from postaltop.core.detect.queue import QueueGrowthDetector, QueueSettings
from postaltop.core.detect.ramp import RampDetector, RampSettings
from postaltop.core.detect.ratio import RatioDetector, RatioLimits, RatioSettings
from postaltop.core.detect.send_limit import SendLimitDetector, SendLimitSettings
from postaltop.core.detect.static import StaticDetector, Threshold
from postaltop.core.detect.zscore import ZScoreDetector, ZScoreSettings
from postaltop.core.source_health import SOURCE_DOWN
from postaltop.monitoring.series import Series
from postaltop.signals import CompromiseSignals

if TYPE_CHECKING:
    from postaltop.config.sections.detection import DetectionConfig
    from postaltop.store.alert_state import AlertStateStore
    from postaltop.store.baselines import BaselineStore

RATE_METRICS: tuple[str, ...] = ("sent", "bounced", "held", "spam")
"""Per-minute counts taken from each poll (``sent`` = outgoing messages created, as Postal's stats count)."""
MAX_MARKED = 20_000
"""Most log lines remembered as having raised an alert (for the log panel's markers)."""
DOWN_STATES = ("error", "not connected", "disconnected", "unreachable", "down")
"""Host states (prefixes) that inhibit alerts from that host."""
SOURCE_DOWN_GRACE = 20.0
"""Seconds a source must stay down before its source-health alert fires (a quick reconnect is not news)."""
MAX_SIDE_SERIES = 512
"""Most side series kept (per-IP and per-credential AUTH failures, ratios, finding values); the least
recently written is forgotten first, so a scan from many addresses cannot grow memory without bound."""
MAX_TRANSITIONS = 50
"""Transitions remembered per alert (the alert detail's history)."""
BASELINE_RATIO_MIN_VOLUME = 500
"""Outgoing messages of history a scope needs before its usual bounce rate is trusted."""

HistoryProvider = Callable[[], Any]
"""Returns ``Iterable[HistoryPoint]`` or an awaitable of it."""

StateProvider = Callable[[ConnectRequest], Any]
"""Returns a :class:`ConnectState` or an awaitable of one."""


def lifecycle_settings(settings: DetectionConfig) -> LifecycleSettings:
    """The alert lifecycle of ``[detection]`` (bursts, client networks at once; sources after a grace)."""
    return LifecycleSettings(
        pending_for=settings.pending_seconds,
        critical_pending_for=settings.critical_pending_seconds,
        resolve_after=settings.resolve_after_seconds,
        pending_overrides=(
            ("auth_burst", 0.0),
            (SOURCE_DOWN, SOURCE_DOWN_GRACE),
            ("client_network", 0.0),
        ),
    )


def burst_settings(settings: DetectionConfig) -> BurstSettings:
    """The AUTH burst limits of ``[detection]``."""
    return BurstSettings(
        ip_warning=settings.auth_failures_per_ip_warning,
        ip_critical=settings.auth_failures_per_ip_critical,
        user_warning=settings.auth_failures_per_ip_warning,
        user_critical=settings.auth_failures_per_ip_critical,
        total_warning=settings.auth_failures_total_warning,
        total_critical=settings.auth_failures_total_critical,
    )


def ratio_settings(settings: DetectionConfig) -> RatioSettings:
    """The bounce and spam ratio limits of ``[detection]``."""
    return RatioSettings(
        window_minutes=settings.ratio_window_minutes,
        bounce=RatioLimits(settings.bounce_rate_warning, settings.bounce_rate_critical, settings.min_volume),
        spam=RatioLimits(settings.spam_rate_warning, settings.spam_rate_critical, settings.min_volume),
        baseline_warning=settings.ratio_baseline_factor,
        baseline_critical=settings.ratio_baseline_factor * 5 / 3,
    )


class MonitorState:
    """What a :class:`~postaltop.monitoring.Monitor` holds; the methods live in the layers above.

    Args:
        settings: the ``[detection]`` section (defaults when None).
        baseline_store: where hourly baseline samples persist (None = memory only).
        alert_store: where silences and acknowledgements persist (None = memory only).
        author: who acknowledges/silences from this front end (the local user name).
    """

    def __init__(
        self,
        settings: DetectionConfig | None = None,
        *,
        baseline_store: BaselineStore | None = None,
        alert_store: AlertStateStore | None = None,
        author: str = "operator",
    ) -> None:
        if settings is None:
            from postaltop.config.sections.detection import DetectionConfig

            settings = DetectionConfig()
        self.config = settings
        self.author = author
        self.baselines = Baselines(BaselineSettings(min_samples=settings.min_baseline_samples))
        self._baseline_store = baseline_store
        self._alert_store = alert_store
        loaded = baseline_store.load_into(self.baselines) if baseline_store is not None else 0
        silences = alert_store.load_silences() if alert_store is not None else []
        acks = alert_store.load_acks() if alert_store is not None else {}
        self.alerts_manager = AlertManager(lifecycle_settings(settings), silences=silences, acks=acks)
        self._init_detectors(settings)
        self._init_series(loaded)
        self._init_connect()
        self._init_health()

    def _init_detectors(self, settings: DetectionConfig) -> None:
        self.static = StaticDetector(
            {m: Threshold(t.warning, t.critical) for m, t in settings.static.items()}
        )
        self.zscore = ZScoreDetector(
            ZScoreSettings(
                warning_z=settings.z_warning,
                critical_z=settings.z_critical,
                min_rate=settings.min_rate_per_minute,
            )
        )
        self.ramp = RampDetector(RampSettings(min_rate=settings.min_rate_per_minute))
        self.bursts = AuthBurstDetector(burst_settings(settings))
        self.ratios = RatioDetector(ratio_settings(settings))
        self.send_limit = SendLimitDetector(
            SendLimitSettings(
                held_warning=settings.send_limit_held_warning,
                held_critical=settings.send_limit_held_critical,
            )
        )
        self.novelty = NoveltyDetector(
            NoveltySettings(
                warning_new=settings.new_domains_warning, critical_new=settings.new_domains_critical
            )
        )
        self.queue = QueueGrowthDetector(
            QueueSettings(min_depth=settings.queue_min_depth, warning_growth=settings.queue_growth_warning)
        )

    def _init_series(self, loaded: int) -> None:
        self.servers: dict[int, ServerInfo] = {}
        self._series: dict[tuple[Scope, str], Series] = {}
        self._pending: dict[tuple[Scope, str], dict[int, float]] = {}
        self._gauges: dict[Scope, tuple[int, float]] = {}
        self._current_minute = -1
        self._covered: dict[int, float] = {}
        """Seconds of polls counted per minute (by the poll's end), for judging the minute in progress."""
        self._now = 0.0
        self._markers: dict[Scope, deque[tuple[float, Severity]]] = {}
        self.marked: OrderedDict[int, Severity] = OrderedDict()
        """Log sequence numbers that raised an alert -> severity (read by the log panel)."""
        self.bootstrapped = loaded > 0
        """True once baselines exist (restored from the store or bootstrapped from Postal's statistics)."""
        self.db_status = "waiting"
        self._unsubscribe: list[Callable[[], None]] = []
        self.signals = CompromiseSignals(self)
        """Client-network novelty and the recipient country mix (:mod:`postaltop.signals`)."""
        self._engine: Any = None
        self.alerts_manager.on_event(self._remember_markers)

    def _init_connect(self) -> None:
        self._history_provider: HistoryProvider | None = None
        self._bootstrap_task: asyncio.Future[Any] | None = None
        self._history_done = False
        self.history_error: str | None = None
        """Why the history bootstrap failed, if it did (the scopes then learn online)."""
        self._state_provider: StateProvider | None = None
        self._state_done = False
        self._buffer: list[PollResult] | None = None
        """Poll results that arrived while the state at connect was being read (replayed after it)."""
        self._covered_until = -math.inf
        """Database time up to which the backfill counted rows (a poll window ending by then is skipped)."""
        self.connect_state: ConnectState | None = None
        """What was read at first connect (None until then, or without a state provider)."""
        self.state_error: str | None = None
        """Why reading the state at connect failed, if it did."""
        self.future_rows = 0
        """Rows stamped after the database clock seen so far (ignored; shown as a health figure)."""
        self._credential_labels: dict[int, str] = {}
        self._profiled: set[Scope] = set()
        """Scopes whose message history was read at connect (they may use the hour-of-day fallback)."""
        self._global_ratio: dict[float, list[float]] = {}
        """All servers' delivery attempts, failures, spam (and span) per counted stretch's end, since the last
        judgement."""

    def _init_health(self) -> None:
        self._side: OrderedDict[tuple[Scope, str], Series] = OrderedDict()
        self._transitions: dict[str, deque[AlertEvent]] = {}
        self.alerts_manager.on_event(self._remember_transition)
        self.down_sources: dict[str, str] = {}
        """Sources (host names, ``db``) that are down now -> why (``connection refused``)."""
        self._down_since: dict[str, float] = {}
        self._up_written: dict[str, tuple[int, float]] = {}
        self._health_seen: dict[str, tuple[int, str]] = {}
        self._from_findings: set[tuple[Scope, str]] = set()
        self.wall: Callable[[], float] = time.monotonic
        """Monotonic clock carrying data time on while sources are down (tests freeze it)."""
        self._advanced_at = self.wall()

    def _remember_markers(self, event: AlertEvent) -> None:
        if event.transition.value not in ("fired", "updated", "escalated"):
            return
        for seq in event.alert.seqs:
            self.marked[seq] = event.alert.severity
            self.marked.move_to_end(seq)
        while len(self.marked) > MAX_MARKED:
            self.marked.popitem(last=False)

    def _remember_transition(self, event: AlertEvent) -> None:
        self._chart_finding_value(event)
        if event.transition.value == "updated":
            return
        found = self._transitions.get(event.alert.key)
        if found is None:
            found = self._transitions[event.alert.key] = deque(maxlen=MAX_TRANSITIONS)
        found.append(event)

    # -- side series: charted, never judged (the detectors keep their own windows) ------------------

    def _side_series(self, scope: Scope, metric: str) -> Series:
        key = (scope, metric)
        series = self._side.get(key)
        if series is None:
            series = self._side[key] = Series()
            while len(self._side) > MAX_SIDE_SERIES:
                self._side.popitem(last=False)
        else:
            self._side.move_to_end(key)
        return series

    def _side_set(self, scope: Scope, metric: str, minute: int, value: float, *, add: bool = False) -> None:
        """Write one minute of a side series (``add``: count into it); hourly means follow."""
        if not math.isfinite(value):
            return
        series = self._side_series(scope, metric)
        if add:
            old = series.minutes.get(minute)
            value += 0.0 if math.isnan(old) else old
        series.minutes.set(minute, value)
        hour = minute // 60
        series.hours.set(hour, series.minutes.finite_sum(hour * 60, hour * 60 + 60) / 60.0)

    def _chart_finding_value(self, event: AlertEvent) -> None:
        """A metric without a series of its own (new recipient domains) is charted from its findings."""
        alert = event.alert
        key = (alert.scope, alert.metric)
        if key in self._series or (key in self._side and key not in self._from_findings):
            return
        if event.transition.value in ("fired", "updated", "escalated"):
            self._from_findings.add(key)
            self._side_set(alert.scope, alert.metric, int(alert.last_seen // 60), alert.observed)

    # -- wiring ----------------------------------------------------------------------------

    def on_alert(self, callback: Callable[[AlertEvent], None]) -> Callable[[], None]:
        """Call ``callback`` with every alert transition. Returns an unsubscribe function."""
        return self.alerts_manager.on_event(callback)

    @property
    def alerts(self) -> list[Alert]:
        """Known alerts, firing first (see :attr:`AlertManager.alerts`); pending ones are left out."""
        return [a for a in self.alerts_manager.alerts if a.state.value != "pending"]

    @property
    def now(self) -> float:
        """The newest data time seen."""
        return self._now

    def scope_of_server(self, server_id: int) -> Scope:
        """The scope of a Postal server id (``server:<org>/<server>`` once discovered)."""
        info = self.servers.get(server_id)
        key = info.full_permalink if info is not None else str(server_id)
        return Scope(ScopeKind.SERVER, key)

    def credential_scope(self, credential_id: int, name: str = "") -> Scope:
        """The scope of a credential, labelled ``name on org/server`` when known."""
        label = self._credential_labels.get(credential_id) or name
        return Scope(ScopeKind.CREDENTIAL, str(credential_id), label)

    # -- persistence ------------------------------------------------------------------------

    def _persist_baselines(self) -> None:
        new = self.baselines.take_new()
        if new and self._baseline_store is not None:
            self._baseline_store.save(new)

    def _persist_alert_state(self, force: bool = False) -> None:
        if self._alert_store is None:
            return
        if force:
            self._alert_store.save_acks(self.alerts_manager.acks)

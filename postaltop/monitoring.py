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
"""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from array import array
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from postaltop.core.alerts import (
    DB_SOURCE,
    GLOBAL,
    Alert,
    AlertEvent,
    AlertManager,
    Finding,
    LifecycleSettings,
    Scope,
    ScopeKind,
    Severity,
)
from postaltop.core.baseline import MAD_TO_SIGMA, Baselines, BaselineSettings, Expectation, median
from postaltop.core.connect_state import OTHER_DOMAIN, Backfill, ConnectRequest, ConnectState, fold_backfill
from postaltop.core.dbmetrics import HistoryPoint, PollResult, ServerInfo
from postaltop.core.detect.burst import AuthBurstDetector, BurstSettings, attempted_user
from postaltop.core.detect.novelty import NoveltyDetector, NoveltySettings
from postaltop.core.detect.queue import QueueGrowthDetector, QueueSettings
from postaltop.core.detect.ramp import RampDetector, RampSettings
from postaltop.core.detect.ratio import RatioDetector, RatioLimits, RatioSettings
from postaltop.core.detect.send_limit import SendLimitDetector, SendLimitSettings
from postaltop.core.detect.static import StaticDetector, Threshold
from postaltop.core.detect.zscore import ZScoreDetector, ZScoreSettings
from postaltop.core.facts import AuthFailure
from postaltop.core.source_health import SOURCE_DOWN, UP_METRIC, down_reason, health_finding
from postaltop.signals import CompromiseSignals

if TYPE_CHECKING:
    from postaltop.config.sections.detection import DetectionConfig
    from postaltop.core.ingest import IngestResult
    from postaltop.store.alert_state import AlertStateStore
    from postaltop.store.baselines import BaselineStore

RATE_METRICS: tuple[str, ...] = ("sent", "bounced", "held", "spam")
"""Per-minute counts taken from each poll (``sent`` = outgoing messages created, as Postal's stats count)."""
MINUTES_KEPT = 24 * 60
"""Per-minute values kept per series (the 24 h chart); the 7 d chart uses hourly means."""
HOURS_KEPT = 7 * 24
MAX_MARKED = 20_000
"""Most log lines remembered as having raised an alert (for the log panel's markers)."""
RECENT_MINUTES = 60
"""Short-term baseline: a scope without hour-of-week history is compared with its own last hour."""
RECENT_MIN_POINTS = 8
DOWN_STATES = ("error", "not connected", "disconnected", "unreachable", "down")
"""Host states (prefixes) that inhibit alerts from that host."""
SOURCE_DOWN_GRACE = 20.0
"""Seconds a source must stay down before its source-health alert fires (a quick reconnect is not news)."""
MAX_SIDE_SERIES = 512
"""Most side series kept (per-IP and per-credential AUTH failures, ratios, finding values); the least
recently written is forgotten first, so a scan from many addresses cannot grow memory without bound."""
MAX_TRANSITIONS = 50
"""Transitions remembered per alert (the alert detail's history)."""


class _Ring:
    """Fixed-size ring of floats indexed by an integer period (minute or hour); NaN = no data."""

    __slots__ = ("last", "size", "values")

    def __init__(self, size: int) -> None:
        self.size = size
        self.values = array("d", [math.nan]) * size
        self.last = -1

    def set(self, period: int, value: float) -> None:
        if self.last >= 0 and period <= self.last - self.size:
            return
        if period > self.last:
            if self.last >= 0:
                for p in range(max(self.last + 1, period - self.size + 1), period):
                    self.values[p % self.size] = math.nan
            self.last = period
        self.values[period % self.size] = value

    def get(self, period: int) -> float:
        if period > self.last or period <= self.last - self.size:
            return math.nan
        return self.values[period % self.size]


@dataclass(frozen=True, slots=True)
class SeriesView:
    """What the chart draws for one (scope, metric) over a window."""

    scope: Scope
    metric: str
    step: int
    """Seconds per point (60, or 3600 for the 7 d window)."""
    times: list[float]
    values: list[float]
    """Per-minute rate (NaN where there is no data)."""
    expected: list[float]
    low: list[float]
    high: list[float]
    learning: bool
    markers: list[tuple[float, Severity]]


class _Series:
    __slots__ = ("hours", "hsum", "minutes")

    def __init__(self) -> None:
        self.minutes = _Ring(MINUTES_KEPT)
        self.hours = _Ring(HOURS_KEPT)
        self.hsum: tuple[int, float, int] = (-1, 0.0, 0)


class Monitor:
    """Runs the detectors over an engine's facts and metric polls and owns the alerts.

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
        self.alerts_manager = AlertManager(
            LifecycleSettings(
                pending_for=settings.pending_seconds,
                critical_pending_for=settings.critical_pending_seconds,
                resolve_after=settings.resolve_after_seconds,
                pending_overrides=(
                    ("auth_burst", 0.0),
                    (SOURCE_DOWN, SOURCE_DOWN_GRACE),
                    ("client_network", 0.0),
                ),
            ),
            silences=silences,
            acks=acks,
        )
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
        self.bursts = AuthBurstDetector(
            BurstSettings(
                ip_warning=settings.auth_failures_per_ip_warning,
                ip_critical=settings.auth_failures_per_ip_critical,
                user_warning=settings.auth_failures_per_ip_warning,
                user_critical=settings.auth_failures_per_ip_critical,
                total_warning=settings.auth_failures_total_warning,
                total_critical=settings.auth_failures_total_critical,
            )
        )
        self.ratios = RatioDetector(
            RatioSettings(
                window_minutes=settings.ratio_window_minutes,
                bounce=RatioLimits(
                    settings.bounce_rate_warning, settings.bounce_rate_critical, settings.min_volume
                ),
                spam=RatioLimits(
                    settings.spam_rate_warning, settings.spam_rate_critical, settings.min_volume
                ),
                baseline_warning=settings.ratio_baseline_factor,
                baseline_critical=settings.ratio_baseline_factor * 5 / 3,
            )
        )
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
        self.servers: dict[int, ServerInfo] = {}
        self._series: dict[tuple[Scope, str], _Series] = {}
        self._pending: dict[tuple[Scope, str], dict[int, float]] = {}
        self._gauges: dict[Scope, tuple[int, float]] = {}
        self._current_minute = -1
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
        self._global_ratio: dict[int, list[float]] = {}
        """Delivery attempts, failures and spam of all servers per minute, since the last judgement."""
        """Scopes whose message history was read at connect (they may use the hour-of-day fallback)."""
        self._side: OrderedDict[tuple[Scope, str], _Series] = OrderedDict()
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

    # -- wiring ----------------------------------------------------------------------------

    def attach(self, engine: Any) -> None:
        """Subscribe to ``engine``'s facts and metric polls (an :class:`~postaltop.engine.Engine`)."""
        self._engine = engine
        self._unsubscribe.append(engine.on_facts(self.on_facts))
        self._unsubscribe.append(engine.on_metrics(self.on_metrics))
        self.signals.attach(engine)
        self._unsubscribe.append(self.signals.detach)
        for result in list(getattr(engine, "metrics_history", ())):
            self.on_metrics(result)

    def detach(self) -> None:
        """Unsubscribe from the engine."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

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

    # -- bootstrap ----------------------------------------------------------------------------

    def scope_of_server(self, server_id: int) -> Scope:
        """The scope of a Postal server id (``server:<org>/<server>`` once discovered)."""
        info = self.servers.get(server_id)
        key = info.full_permalink if info is not None else str(server_id)
        return Scope(ScopeKind.SERVER, key)

    def bootstrap(
        self, points: Iterable[HistoryPoint], servers: Iterable[ServerInfo] = (), now: float | None = None
    ) -> int:
        """Seed the baselines from Postal's hourly/daily statistics. Returns the hourly samples added."""
        for info in servers:
            self.servers[info.id] = info
        scopes = {sid: self.scope_of_server(sid) for sid in self.servers}
        added = self.baselines.bootstrap(points, scopes, now)
        self.bootstrapped = True
        self._persist_baselines()
        return added

    def set_history_provider(self, provider: HistoryProvider) -> None:
        """Bootstrap from ``provider()`` (a list of HistoryPoints, or an awaitable of one) at first connect.

        ``PostalDbSource.history`` and ``DemoMetricsSource.history`` both fit. Called once, when the first
        connected poll result arrives (its server list names the scopes).
        """
        self._history_provider = provider

    async def history_loaded(self) -> None:
        """Wait for a history bootstrap in progress (returns at once when there is none)."""
        task = self._bootstrap_task
        if task is not None:
            await task

    @property
    def has_history_provider(self) -> bool:
        """True once a history provider is set (sources set theirs only if nobody else did)."""
        return self._history_provider is not None

    def _maybe_bootstrap(self, result: PollResult) -> None:
        provider = self._history_provider
        if provider is None or self._history_done or not result.connected:
            return
        self._history_done = True
        servers = list(result.servers)
        try:
            points = provider()
        except Exception:  # a failed history read must not stop monitoring: the scopes stay "learning"
            self.history_error = "could not read Postal's statistics"
            return
        if inspect.isawaitable(points):
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                close = getattr(points, "close", None)
                if callable(close):
                    close()  # a coroutine that will never run: close it (no "never awaited" warning)
                self._history_done = False  # no loop yet: try again at the next poll
                return

            async def wait(awaitable: Any) -> None:
                try:
                    self.bootstrap(await awaitable, servers)
                except Exception:  # the scopes stay "learning"; monitoring goes on
                    self.history_error = "could not read Postal's statistics"

            self._bootstrap_task = loop.create_task(wait(points))
            return
        self.bootstrap(points, servers)

    # -- state at connect -----------------------------------------------------------------------

    def set_state_provider(self, provider: StateProvider) -> None:
        """Read the state at connect from ``provider(request)`` (a ConnectState, or an awaitable of one).

        Called once, at the first connected poll with fresh figures: its database time ends the backfill.
        ``PostalDbSource.connect_state`` (through the database runner) and ``DemoMetricsSource.connect_state``
        both fit. Poll results arriving while it is read are held back and judged after it, in order.
        """
        self._state_provider = provider

    @property
    def has_state_provider(self) -> bool:
        """True once a state provider is set."""
        return self._state_provider is not None

    def connect_request(self, until: float) -> ConnectRequest:
        """What this monitor's settings ask of a source at connect, ending at database time ``until``."""
        c = self.config
        return ConnectRequest(
            until=until,
            backfill_seconds=c.backfill_minutes * 60.0,
            credential_history_seconds=c.credential_history_hours * 3600.0,
            top_domains=c.backfill_top_domains,
        )

    def _maybe_load_state(self, result: PollResult) -> bool:
        """Start reading the state at connect; True when ``result`` was held back until it is read."""
        provider = self._state_provider
        if provider is None or self._state_done or not result.connected:
            return False
        fresh = [x.sampled_at for x in result.samples if not x.stale and math.isfinite(x.sampled_at)]
        if not fresh:
            return False
        self._state_done = True
        try:
            state = provider(self.connect_request(max(fresh)))
        except Exception as exc:  # monitoring goes on without it (scopes learn online)
            self.state_error = f"could not read the recent past: {type(exc).__name__}"
            return False
        if not inspect.isawaitable(state):
            self.apply_state(state)
            return False
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop yet: ask again at the next poll
            close = getattr(state, "close", None)
            if callable(close):
                close()
            self._state_done = False
            return False
        self._buffer = [result]

        async def wait(awaitable: Any) -> None:
            got: ConnectState | None = None
            try:
                got = await awaitable
            except Exception as exc:  # the buffered polls are judged anyway
                self.state_error = f"could not read the recent past: {type(exc).__name__}: {exc}"[:300]
            finally:
                held, self._buffer = self._buffer or [], None
                if got is not None:
                    self.apply_state(got)
                for pending in held:
                    self.on_metrics(pending)

        self._bootstrap_task = asyncio.ensure_future(wait(state))
        return True

    def apply_state(self, state: ConnectState) -> None:
        """Bootstrap baselines and novelty from ``state`` and judge its backfill, minute by minute."""
        self.connect_state = state
        backfill = state.backfill
        start = backfill.start if backfill is not None and backfill.end > backfill.start else None
        for cred in state.credentials:
            server = self.servers.get(cred.server_id)
            where = f" on {server.full_permalink}" if server is not None else ""
            self._credential_labels[cred.id] = f"{cred.name}{where}"
        self.bootstrap(state.history, (), now=start)
        self._bootstrap_ratios(state.history, start)
        self._bootstrap_credentials(state, start)
        if backfill is not None and start is not None:
            self._replay(backfill)
            self._covered_until = backfill.end
            self.future_rows += backfill.future_rows
        self._history_done = True  # the state includes the statistics

    def credential_scope(self, credential_id: int, name: str = "") -> Scope:
        """The scope of a credential, labelled ``name on org/server`` when known."""
        label = self._credential_labels.get(credential_id) or name
        return Scope(ScopeKind.CREDENTIAL, str(credential_id), label)

    def _bootstrap_ratios(self, points: Iterable[HistoryPoint], before: float | None) -> None:
        """Each server's (and the installation's) usual bounce rate from the hourly statistics."""
        sums: dict[int, list[int]] = {}
        for p in points:
            if p.granularity != "hour" or (before is not None and p.time + 3600 > before):
                continue
            acc = sums.setdefault(p.server_id, [0, 0])
            acc[0] += max(0, p.bounces)
            acc[1] += max(0, p.outgoing)
        total = [0, 0]
        for sid, (bounces, outgoing) in sums.items():
            total[0] += bounces
            total[1] += outgoing
            if outgoing >= BASELINE_RATIO_MIN_VOLUME:
                self.ratios.set_baseline(self.scope_of_server(sid), "bounce_rate", bounces / outgoing)
        if total[1] >= BASELINE_RATIO_MIN_VOLUME:
            self.ratios.set_baseline(GLOBAL, "bounce_rate", total[0] / total[1])

    def _bootstrap_credentials(self, state: ConnectState, before: float | None) -> None:
        """Credential baselines (hourly samples, zeros for silent hours) and usual recipient domains."""
        known: dict[int, list[str]] = {}
        for cred, domain in state.credential_domains:
            known.setdefault(cred, []).append(domain)
        for cred, domains in known.items():
            self.novelty.learn(self.credential_scope(cred), domains, state.credential_since)
        if before is None:
            return
        since = math.ceil(state.credential_since / 3600.0) * 3600
        last = int(before // 3600) * 3600  # hours ending at or before the backfill's start
        per: dict[int, dict[int, float]] = {}
        for h in state.credential_hours:
            per.setdefault(h.credential_id, {})[h.hour] = (
                per.get(h.credential_id, {}).get(h.hour, 0.0) + h.count
            )
        for cred, hours in per.items():
            scope = self.credential_scope(cred)
            self._profiled.add(scope)
            first = max(since, min(hours))
            for hour in range(first, last, 3600):
                self.baselines.add_sample(scope, "sent", hour, hours.get(hour, 0.0) / 60.0, record=False)

    def _replay(self, backfill: Backfill) -> None:
        """Judge the backfill minute by minute, as if each had been polled live (zero minutes included)."""
        figures = fold_backfill(backfill)
        servers = sorted(
            {m.server_id for m in backfill.messages} | {d.server_id for d in backfill.deliveries}
        )
        creds = {m.credential_id for m in backfill.messages if m.credential_id}
        first = int(backfill.start // 60)
        last = int(backfill.end // 60)
        for minute in range(first, last + 1):
            per_server = figures.get(minute, {})
            findings: list[Finding] = []
            ts = minute * 60.0 + 30.0
            for sid in servers:
                fig = per_server.get(sid)
                scope = self.scope_of_server(sid)
                if fig is None:
                    for metric in RATE_METRICS:
                        self._add(scope, metric, minute, 0.0)
                        self._add(GLOBAL, metric, minute, 0.0)
                    continue
                findings += self._add_counts(scope, minute, fig.outgoing, fig.bounced, fig.held, fig.spam,
                                             fig.sent, fig.hard_fail)  # fmt: skip
                for cred, count in fig.credentials.items():
                    self._add(self.credential_scope(cred), "sent", minute, count)
                for domain, count in fig.domains.items():
                    key = domain.lower() if domain != OTHER_DOMAIN else f"{OTHER_DOMAIN} ({scope.key})"
                    self._add(Scope(ScopeKind.DOMAIN, key), "sent", minute, count)
                for cred, domains in fig.new_domains.items():
                    found = self.novelty.feed(self.credential_scope(cred), domains, ts)
                    if found is not None:
                        findings.append(found)
                if fig.held_send_limit:
                    self.send_limit.observe_held(
                        scope, ts, fig.held_send_limit, self._senders(fig.held_by_credential)
                    )
            for cred in creds:
                self._add(self.credential_scope(cred), "sent", minute, 0.0)
            findings += self._judge_global_ratio()
            for sid in servers:
                info = self.servers.get(sid)
                found = self.send_limit.judge(
                    self.scope_of_server(sid), ts, limit=info.send_limit if info is not None else None
                )
                if found is not None:
                    findings.append(found)
            self._advance(ts, findings)

    def _senders(self, by_credential: Mapping[int, int]) -> dict[str, int]:
        return {
            self.credential_scope(c).display if c else "no credential": n for c, n in by_credential.items()
        }

    def _add_counts(
        self, scope: Scope, minute: int, outgoing: float, bounced: float, held: float, spam: float,
        sent: float, hard_fail: float,
    ) -> list[Finding]:  # fmt: skip
        for metric, value in (("sent", outgoing), ("bounced", bounced), ("held", held), ("spam", spam)):
            self._add(scope, metric, minute, value)
            self._add(GLOBAL, metric, minute, value)
        # ratios are judged at every poll (not when the minute closes): a storm shows within a poll or two
        total = self._global_ratio.setdefault(minute, [0.0, 0.0, 0.0])
        total[0] += sent + hard_fail
        total[1] += hard_fail + bounced
        total[2] += spam
        return self.ratios.update(scope, minute * 60, sent + hard_fail, hard_fail + bounced, spam)

    def _judge_global_ratio(self) -> list[Finding]:
        """The installation's ratios, once per poll (or replayed minute) over every server's counts."""
        out: list[Finding] = []
        for minute, (attempts, failed, spam) in sorted(self._global_ratio.items()):
            out += self.ratios.update(GLOBAL, minute * 60, attempts, failed, spam)
        self._global_ratio.clear()
        return out

    # -- metrics -----------------------------------------------------------------------------

    def on_metrics(self, result: PollResult) -> None:
        """Take one poll result (never raises on odd figures: NaN and negative counts are skipped)."""
        for info in result.servers:
            self.servers[info.id] = info
        if self._buffer is not None:
            self._buffer.append(result)  # the state at connect is being read: judged after it
            return
        if self._maybe_load_state(result):
            return
        self._maybe_bootstrap(result)
        down = not result.connected
        self.db_status = result.status
        if down != self.alerts_manager.is_down(DB_SOURCE):
            self.alerts_manager.set_source_down(DB_SOURCE, down, self._now)
        if down:
            return
        queue_total = 0.0
        ts_max = -math.inf
        early: list[Finding] = []
        for sample in result.samples:
            if sample.stale or not math.isfinite(sample.sampled_at):
                continue
            ts = sample.sampled_at
            ts_max = max(ts_max, ts)
            minute = int((ts - min(max(sample.window_seconds, 0.0), 60.0) / 2) // 60)
            scope = self.scope_of_server(sample.server_id)
            covered = ts <= self._covered_until
            self.future_rows += sample.future_rows
            if not covered:
                c = sample.counts
                early += self._add_counts(
                    scope, minute, c.outgoing, c.bounced, c.held, c.spam, c.sent, c.hard_fail
                )
                if sample.held_send_limit:
                    held = self._senders(dict(sample.held_send_limit_by_credential))
                    self.send_limit.observe_held(scope, ts, sample.held_send_limit, held)
            self._gauges[scope] = (minute, float(sample.queue_depth))
            queue_total += max(0, sample.queue_depth)
        if ts_max == -math.inf:
            return
        covered = ts_max <= self._covered_until
        minute = int(ts_max // 60)
        self._gauges[GLOBAL] = (minute, queue_total)
        findings: list[Finding] = early + self._judge_global_ratio() + self._judge_send_limits(result)
        if not covered:
            for cred in result.credentials:
                self._add(self.credential_scope(cred.credential_id, cred.name), "sent", minute, cred.count)
            per_server: dict[int, list[str]] = {}
            for dom in result.domains:
                self._add(Scope(ScopeKind.DOMAIN, dom.domain.lower()), "sent", minute, dom.count)
                per_server.setdefault(dom.server_id, []).append(dom.domain)
            for sid, domains in per_server.items():
                found = self.novelty.feed(self.scope_of_server(sid), domains, ts_max)
                if found is not None:
                    findings.append(found)
            findings.extend(self._credential_novelty(result, ts_max))
        self._advance(ts_max, findings)

    def _judge_send_limits(self, result: PollResult) -> list[Finding]:
        """The send-limit detector over each fresh sample (usage, Postal's marks, held by the limit)."""
        busiest: dict[int, list[tuple[str, int]]] = {}
        for cred in result.credentials:
            busiest.setdefault(cred.server_id, []).append(
                (self.credential_scope(cred.credential_id, cred.name).display, cred.count)
            )
        out: list[Finding] = []
        for sample in result.samples:
            if sample.stale or not math.isfinite(sample.sampled_at):
                continue
            info = self.servers.get(sample.server_id)
            found = self.send_limit.judge(
                self.scope_of_server(sample.server_id),
                sample.sampled_at,
                usage_pct=sample.send_limit_usage_pct,
                limit=sample.send_limit,
                exceeded_age=info.send_limit_exceeded_age if info is not None else None,
                busiest=busiest.get(sample.server_id, ()),
            )
            if found is not None:
                out.append(found)
        return out

    def _credential_novelty(self, result: PollResult, ts: float) -> list[Finding]:
        """Feed each credential's recipient domains of the window to the novelty detector."""
        per_cred: dict[int, list[str]] = {}
        for sample in result.credential_domains:
            if sample.count > 0 and sample.domain:
                per_cred.setdefault(sample.credential_id, []).append(sample.domain)
        if not per_cred:
            return []
        names = {c.credential_id: c.name for c in result.credentials}
        out: list[Finding] = []
        for cred_id, domains in per_cred.items():
            scope = self.credential_scope(cred_id, names.get(cred_id, ""))
            found = self.novelty.feed(scope, domains, ts)
            if found is not None:
                out.append(found)
        return out

    def learn_credential_domains(self, known: Mapping[tuple[int, str], Iterable[str]], since: float) -> None:
        """Seed the novelty detector: ``(credential id, name)`` -> domains it has mailed since ``since``.

        A credential seeded this way is judged at once; one first seen live learns for an hour.
        """
        for (cred_id, name), domains in known.items():
            self.novelty.learn(Scope(ScopeKind.CREDENTIAL, str(cred_id), name), list(domains), since)

    def observe_credential_domains(
        self, credential_id: int, domains: list[str], ts: float, name: str = ""
    ) -> None:
        """Optional input: recipient domains one credential sent to (novelty per credential)."""
        found = self.novelty.feed(Scope(ScopeKind.CREDENTIAL, str(credential_id), name), domains, ts)
        if found is not None:
            self.alerts_manager.observe([found], max(self._now, ts))

    # -- facts ---------------------------------------------------------------------------------

    def on_facts(self, result: IngestResult) -> None:
        """Take the facts of one ingest batch (AUTH failures feed the burst detector and a series)."""
        findings: list[Finding] = []
        latest = -math.inf
        for fact in result.facts_of(AuthFailure):
            if isinstance(fact, AuthFailure) and math.isfinite(fact.ts):
                found = self.bursts.feed(fact)
                findings.extend(f for f in found if not self._host_down(f.source))
                self._add(GLOBAL, "auth_failures", int(fact.ts // 60), 1)
                self._count_auth_failure(fact)
                latest = max(latest, fact.ts)
        if latest > -math.inf:
            self._advance(latest, findings)

    def _host_down(self, host: str) -> bool:
        engine = self._engine
        hosts = getattr(engine, "hosts", None) if engine is not None else None
        status = hosts.get(host) if isinstance(hosts, dict) else None
        state = str(getattr(status, "state", ""))
        down = state.lower().startswith(DOWN_STATES) or down_reason(state) is not None
        if down != self.alerts_manager.is_down(host):
            self.alerts_manager.set_source_down(host, down, self._now)
        return down

    # -- per-minute machinery -------------------------------------------------------------------

    def _add(self, scope: Scope, metric: str, minute: int, value: float) -> None:
        if not math.isfinite(value) or value < 0:
            return
        if self._current_minute >= 0 and minute < self._current_minute - 5:
            return  # far too late (skew, replay): dropped rather than rewriting judged minutes
        pending = self._pending.setdefault((scope, metric), {})
        pending[minute] = pending.get(minute, 0.0) + value

    def report(self, findings: list[Finding], ts: float) -> None:
        """Findings of detectors that live outside the monitor (``postaltop.signals``), observed at ``ts``."""
        self._advance(ts, [f for f in findings if not self._host_down(f.source)])

    def _advance(self, now: float, findings: list[Finding]) -> None:
        if now > self._now + 7 * 86400 and self._now > 0:
            self._now = now  # a jump (clock change, replay): keep going, series rings handle it
        self._now = max(self._now, now)
        self._advanced_at = self.wall()
        minute = int(self._now // 60)
        if minute > self._current_minute:
            if self._current_minute >= 0:
                findings.extend(self._close_minutes(minute))
            self._current_minute = minute
        if not self.config.enabled:
            findings = []  # detection off: series and the chart still work, nothing is raised
        self.alerts_manager.observe(findings, self._now)
        self.bursts.prune(self._now)
        self._persist_alert_state()

    def _close_minutes(self, current: int) -> list[Finding]:
        """Judge every pending minute before ``current``."""
        findings: list[Finding] = []
        closed: dict[Scope, dict[int, dict[str, float]]] = {}
        for key in list(self._pending):
            scope, metric = key
            pending = self._pending[key]
            for minute in sorted(m for m in pending if m < current):
                closed.setdefault(scope, {}).setdefault(minute, {})[metric] = pending.pop(minute)
            if not pending:
                del self._pending[key]
        # a series with no data in a minute while polls arrived counts zero traffic (a short gap only:
        # a long one is missing data, not silence)
        starts: dict[tuple[Scope, str], int] = {
            key: series.minutes.last + 1 for key, series in self._series.items() if series.minutes.last >= 0
        }
        for scope, minutes in closed.items():
            for minute, values in minutes.items():
                for metric in values:
                    key = (scope, metric)
                    starts[key] = min(starts.get(key, minute), minute)
        for (scope, metric), first in starts.items():
            if metric in RATE_METRICS:
                for minute in range(max(first, current - 3), current):
                    closed.setdefault(scope, {}).setdefault(minute, {}).setdefault(metric, 0.0)
        unknown = self._traffic_without_baseline(closed)
        for scope, minutes in closed.items():
            for minute, values in sorted(minutes.items()):
                extra = unknown.get(minute) if scope.kind is ScopeKind.GLOBAL else None
                findings.extend(self._judge_minute(scope, minute, values, extra))
        for scope, (minute, depth) in list(self._gauges.items()):
            if minute < current:
                self._store(scope, "queue_depth", minute, depth)
                found = self.queue.update(scope, depth, minute * 60.0 + 60)
                if found is not None:
                    findings.append(found)
                s = self.static.check(scope, "queue_depth", depth, minute * 60.0 + 60)
                if s is not None:
                    findings.append(s)
        if self._baseline_store is not None:
            self._persist_baselines()
        for f in findings:
            self._markers.setdefault(f.scope, deque(maxlen=500)).append((f.ts, f.severity))
        return findings

    # -- side series: charted, never judged (the detectors keep their own windows) ------------------

    def _side_series(self, scope: Scope, metric: str) -> _Series:
        key = (scope, metric)
        series = self._side.get(key)
        if series is None:
            series = self._side[key] = _Series()
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
        total = sum(v for m in range(hour * 60, hour * 60 + 60) if math.isfinite(v := series.minutes.get(m)))
        series.hours.set(hour, total / 60.0)

    def _count_auth_failure(self, fact: AuthFailure) -> None:
        """Per-IP and per-credential AUTH failures per minute (the brute-force alerts' charts)."""
        minute = int(fact.ts // 60)
        self._side_set(Scope(ScopeKind.IP, fact.ip), "auth_failures", minute, 1.0, add=True)
        user = attempted_user(fact.detail or "")
        if user is not None:
            self._side_set(Scope(ScopeKind.CREDENTIAL, user), "auth_failures", minute, 1.0, add=True)

    def _chart_finding_value(self, event: AlertEvent) -> None:
        """A metric without a series of its own (new recipient domains) is charted from its findings."""
        alert = event.alert
        key = (alert.scope, alert.metric)
        if key in self._series or (key in self._side and key not in self._from_findings):
            return
        if event.transition.value in ("fired", "updated", "escalated"):
            self._from_findings.add(key)
            self._side_set(alert.scope, alert.metric, int(alert.last_seen // 60), alert.observed)

    def has_series(self, scope: Scope, metric: str) -> bool:
        """True when ``metric`` of ``scope`` has been recorded (a chart of it shows data)."""
        return (scope, metric) in self._series or (scope, metric) in self._side

    # -- alert history ----------------------------------------------------------------------------

    def _remember_transition(self, event: AlertEvent) -> None:
        self._chart_finding_value(event)
        if event.transition.value == "updated":
            return
        found = self._transitions.get(event.alert.key)
        if found is None:
            found = self._transitions[event.alert.key] = deque(maxlen=MAX_TRANSITIONS)
        found.append(event)

    def transitions(self, key: str) -> list[AlertEvent]:
        """Transitions of alert ``key`` (fired, escalated, acknowledged, silenced, resolved), oldest first."""
        return list(self._transitions.get(key, ()))

    # -- source health ----------------------------------------------------------------------------

    def source_clock(self) -> float:
        """Data time now: the newest data time, plus the real time since it last moved while a source
        is down.

        Nothing may arrive while sources are down, so the real time elapsed carries the lifecycle on (a
        simulation or a replay keeps its own time base). Before any data, the engine's clock.
        """
        if self._now <= 0:
            clock = getattr(self._engine, "clock", None)
            return float(clock()) if callable(clock) else time.time()
        if not self.down_sources:
            return self._now
        return self._now + max(0.0, self.wall() - self._advanced_at)

    def check_sources(self, now: float | None = None) -> None:
        """Turn the engine's host states into source-health alerts and inhibitions.

        A source whose state says it is down (see :func:`~postaltop.core.source_health.down_reason`)
        inhibits its own alerts at once and raises a ``source_down`` alert (firing after
        :data:`SOURCE_DOWN_GRACE` seconds); when it is back the alert resolves at once.
        """
        engine = self._engine
        hosts = getattr(engine, "hosts", None) if engine is not None else None
        if not isinstance(hosts, dict):
            return
        ts = self.source_clock() if now is None else now
        findings: list[Finding] = []
        changed = False
        for name, status in list(hosts.items()):
            state = str(getattr(status, "state", ""))
            reason = down_reason(state)
            self._chart_up(name, ts, reason is None)
            if reason is None:
                self._down_since.pop(name, None)
                if self.down_sources.pop(name, None) is not None:
                    changed = True
                    self.alerts_manager.resolve(f"{SOURCE_DOWN}|host:{name}", ts)
                if name != DB_SOURCE and self.alerts_manager.is_down(name):
                    self.alerts_manager.set_source_down(name, False, ts)
                continue
            self.down_sources[name] = reason
            self._down_since.setdefault(name, ts)
            if not self.alerts_manager.is_down(name):
                self.alerts_manager.set_source_down(name, True, ts)
            finding = health_finding(name, state, reason, ts)
            current = self.alerts_manager.get(finding.key)
            seen = (int(ts // 60), finding.why)
            if current is None or not current.is_open or current.state.value == "pending":
                findings.append(finding)  # new, or waiting out its grace
            elif self._health_seen.get(name) != seen:
                findings.append(finding)  # once a minute (or when the reason changes): kept fresh
            self._health_seen[name] = seen
        for gone in [n for n in self.down_sources if n not in hosts]:
            del self.down_sources[gone]
            self._down_since.pop(gone, None)
            changed = True
            self.alerts_manager.resolve(f"{SOURCE_DOWN}|host:{gone}", ts)
        if findings or changed:
            self.alerts_manager.observe(findings, ts)

    def _chart_up(self, name: str, ts: float, up: bool) -> None:
        """Record 1 (up) or 0 (down) for the source's minute; a minute with any down time stays 0."""
        minute, value = int(ts // 60), 1.0 if up else 0.0
        last = self._up_written.get(name)
        if last is not None and last[0] == minute and last[1] <= value:
            return
        self._up_written[name] = (minute, value)
        self._side_set(Scope(ScopeKind.HOST, name), UP_METRIC, minute, value)

    def down_since(self, source: str) -> float | None:
        """When ``source`` was first seen down in its current outage (None while up)."""
        return self._down_since.get(source)

    def tick(self) -> None:
        """Periodic housekeeping (the TUI's timer, ``watch``'s loop): source health, lifecycle timers."""
        self.check_sources()

    def _traffic_without_baseline(
        self, closed: dict[Scope, dict[int, dict[str, float]]]
    ) -> dict[int, dict[str, float]]:
        """Per minute and metric: traffic of servers whose own baseline is still learning.

        The global baseline is the sum of the servers that had history; a server with none (new, or its
        statistics unreadable) would otherwise look like a global surge. Its traffic is taken as expected
        in the global scope until its own baseline exists.
        """
        out: dict[int, dict[str, float]] = {}
        for scope, minutes in closed.items():
            if scope.kind is not ScopeKind.SERVER:
                continue
            for minute, values in minutes.items():
                for metric, value in values.items():
                    if metric not in RATE_METRICS or not value:
                        continue
                    if self.baselines.expect(scope, metric, minute * 60.0 + 60.0).learning:
                        per = out.setdefault(minute, {})
                        per[metric] = per.get(metric, 0.0) + value
        return out

    def _judge_minute(
        self, scope: Scope, minute: int, values: dict[str, float], unknown: dict[str, float] | None = None
    ) -> list[Finding]:
        ts = minute * 60.0 + 60.0
        out: list[Finding] = []
        for metric, value in values.items():
            if metric.startswith("_"):
                continue
            self._store(scope, metric, minute, value)
            expected = self.expected(scope, metric, ts)
            if unknown and metric in unknown and not expected.learning:
                expected = replace(expected, median=expected.median + unknown[metric])
            spike = self.zscore.update(scope, metric, value, expected, ts)
            trend = (
                self.ramp.update(scope, metric, value, expected, ts)
                if metric == "sent" and scope.kind in (ScopeKind.SERVER, ScopeKind.GLOBAL)
                else None
            )
            for found in (
                spike,
                trend if spike is None else None,  # a jump is a spike, not a rising trend
                self.static.check(scope, metric, value, ts),
            ):
                if found is not None:
                    out.append(found)
        return out

    def _store(self, scope: Scope, metric: str, minute: int, value: float) -> None:
        series = self._series.get((scope, metric))
        if series is None:
            series = self._series[(scope, metric)] = _Series()
        series.minutes.set(minute, value)
        hour = minute // 60
        h, total, n = series.hsum
        if hour != h:
            series.hsum = (hour, value, 1)
        else:
            series.hsum = (h, total + value, n + 1)
        series.hours.set(hour, series.hsum[1] / series.hsum[2])
        self.baselines.observe(scope, metric, minute * 60.0, value)

    def expected(self, scope: Scope, metric: str, ts: float) -> Expectation:
        """The hour-of-week expectation; while that is learning, for a scope whose history was read at
        connect, the hour-of-day one (same hour on other days); else the scope's own last hour."""
        exp = self.baselines.expect(scope, metric, ts)
        if not exp.learning:
            return exp
        if scope in self._profiled:
            daily = self.baselines.expect_daily(scope, metric, ts)
            if not daily.learning:
                return daily
        series = self._series.get((scope, metric))
        if series is None:
            return exp
        last = series.minutes.last
        recent = [
            v for m in range(last - RECENT_MINUTES, last - 1) if math.isfinite(v := series.minutes.get(m))
        ]
        if len(recent) < RECENT_MIN_POINTS:
            return exp
        med = median(recent)
        mad = median([abs(v - med) for v in recent])
        spread = max(mad * MAD_TO_SIGMA, med * 0.2, 1.0)
        return Expectation(med, spread, len(recent), False)

    # -- chart ------------------------------------------------------------------------------------

    def scopes(self) -> list[Scope]:
        """Scopes that have a ``sent`` series, global first."""
        found = sorted(
            {s for s, m in self._series if m == "sent"}, key=lambda s: (s.kind != ScopeKind.GLOBAL, str(s))
        )
        return found or [GLOBAL]

    def series(
        self,
        scope: Scope,
        metric: str,
        window: float,
        band_k: float = 3.0,
        max_points: int = 180,
        band: bool = True,
    ) -> SeriesView:
        """Per-minute values with the baseline's expected line and band, at most ``max_points`` points.

        Up to 24 h the values are per-minute rates (averaged over a few minutes when the window holds more
        than ``max_points`` minutes); beyond, hourly means. NaN marks periods without data.
        """
        base = 60 if window <= 86400 else 3600
        found = self._series.get((scope, metric)) or self._side.get((scope, metric))
        ring = None if found is None else (found.minutes if base == 60 else found.hours)
        # the newest complete period (the current minute is still being counted)
        end = int(self._now // base) - 1 if self._now else 0
        n = max(1, int(window // base))
        k = max(1, -(-n // max(1, max_points)))
        step = base * k
        first = end - n + 1
        times: list[float] = []
        values: list[float] = []
        expected: list[float] = []
        low: list[float] = []
        high: list[float] = []
        learning = True
        cache: dict[int, Expectation] = {}
        for b in range(first, end + 1, k):
            t = float(b * base)
            times.append(t)
            if ring is None:
                values.append(math.nan)
            else:
                got = [v for i in range(b, min(b + k, end + 1)) if math.isfinite(v := ring.get(i))]
                values.append(sum(got) / len(got) if got else math.nan)
            if not band:
                expected.append(math.nan)
                low.append(math.nan)
                high.append(math.nan)
                continue
            bucket = int(t // 900)
            exp = cache.get(bucket)
            if exp is None:
                exp = cache[bucket] = self.baselines.expect(scope, metric, t + step / 2)
            if exp.learning:
                expected.append(math.nan)
                low.append(math.nan)
                high.append(math.nan)
            else:
                learning = False
                lo, hi = exp.band(band_k)
                expected.append(exp.median)
                low.append(lo)
                high.append(hi)
        start = times[0] if times else 0.0
        markers = [(t, sev) for t, sev in self._markers.get(scope, ()) if t >= start]
        return SeriesView(scope, metric, step, times, values, expected, low, high, learning, markers)

    # -- operator actions and persistence -----------------------------------------------------

    def acknowledge(self, key: str, comment: str, author: str | None = None) -> Alert | None:
        """Acknowledge an alert (persisted)."""
        alert = self.alerts_manager.acknowledge(key, author or self.author, comment, self._now)
        self._persist_alert_state(force=True)
        return alert

    def silence(self, match: str, duration: float, reason: str, author: str | None = None) -> None:
        """Silence alerts matching ``match`` for ``duration`` seconds (persisted)."""
        silence = self.alerts_manager.silence(match, duration, author or self.author, reason, self._now)
        if self._alert_store is not None:
            self._alert_store.save_silence(silence)
        self._persist_alert_state(force=True)

    def marker_for(self, seq: int) -> Severity | None:
        """Severity of the alert a log line raised, if any (the log panel's inline marker)."""
        return self.marked.get(seq)

    def _remember_markers(self, event: AlertEvent) -> None:
        if event.transition.value not in ("fired", "updated", "escalated"):
            return
        for seq in event.alert.seqs:
            self.marked[seq] = event.alert.severity
            self.marked.move_to_end(seq)
        while len(self.marked) > MAX_MARKED:
            self.marked.popitem(last=False)

    def _persist_baselines(self) -> None:
        new = self.baselines.take_new()
        if new and self._baseline_store is not None:
            self._baseline_store.save(new)

    def _persist_alert_state(self, force: bool = False) -> None:
        if self._alert_store is None:
            return
        if force:
            self._alert_store.save_acks(self.alerts_manager.acks)


HistoryProvider = Callable[[], Any]
"""Returns ``Iterable[HistoryPoint]`` or an awaitable of it."""

StateProvider = Callable[[ConnectRequest], Any]
"""Returns a :class:`ConnectState` or an awaitable of one."""

BASELINE_RATIO_MIN_VOLUME = 500
"""Outgoing messages of history a scope needs before its usual bounce rate is trusted."""


def marker_style(severity: Severity | None) -> str | None:
    """Style of the log panel's inline marker for a line that raised an alert."""
    if severity is None:
        return None
    return "bold red" if severity is Severity.CRITICAL else "bold yellow"


def history_scopes(servers: Mapping[int, ServerInfo]) -> dict[int, Scope]:
    """Scopes of discovered servers by id (for :meth:`Baselines.bootstrap`)."""
    return {sid: Scope(ScopeKind.SERVER, info.full_permalink) for sid, info in servers.items()}

"""Hour-of-week baselines: what is normal for this scope, this metric, at this hour of this weekday.

Every (scope, metric) keeps, per hour-of-week slot (0 = Monday 00:00 UTC ... 167 = Sunday 23:00), the
hourly mean **per-minute rate** of past weeks (newest :data:`MAX_WEEKS` kept). The expectation for a slot
pools the slot with its two neighbours (same weekday, hour ±1) so that 4 weeks of history give 12
samples; it is the **median** of the pool, and the spread is the **MAD** scaled to a standard deviation
(x1.4826), floored so that a perfectly regular history does not make every wobble an anomaly.

Fewer than ``min_samples`` pooled samples → the expectation says ``learning`` and detectors stay quiet.

Sources of samples:
* :meth:`Baselines.bootstrap` — Postal's ``stats_hourly``/``stats_daily`` rows (:class:`HistoryPoint`), so a
  fresh install has a baseline at first connect;
* :meth:`Baselines.observe` — live per-minute values; they are averaged per clock hour and added when the
  hour is over (an hour with too few minutes observed — a gap, a host down — is discarded).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from postaltop.core.alerts import GLOBAL, Scope, ScopeKind
from postaltop.core.dbmetrics import HistoryPoint

HOURS_PER_WEEK = 168
MAX_WEEKS = 8
"""Samples older than this many weeks are dropped per slot."""
MAD_TO_SIGMA = 1.4826
METRICS: tuple[str, ...] = ("sent", "bounced", "held", "spam", "auth_failures", "queue_depth")
"""The metrics a baseline is kept for."""

DAILY_SPREAD_FLOOR_RATIO = 0.5
"""The hour-of-day fallback's spread is at least this fraction of its median."""

HISTORY_FIELDS: Mapping[str, str] = {"sent": "outgoing", "bounced": "bounces", "held": "held", "spam": "spam"}
"""Baseline metric -> :class:`HistoryPoint` field used to bootstrap it."""


def hour_of_week(ts: float) -> int:
    """Hour-of-week slot of a UNIX time (UTC): Monday 00:00 = 0 ... Sunday 23:00 = 167."""
    if not math.isfinite(ts):
        return 0
    hours = int(ts // 3600)
    # 1970-01-01 (hour 0) was a Thursday = weekday 3.
    return (hours + 3 * 24) % HOURS_PER_WEEK


def median(values: list[float]) -> float:
    """Median of a non-empty list."""
    s = sorted(values)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2.0


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the baseline expects at one moment (per-minute rate, or a gauge for queue depth)."""

    median: float
    spread: float
    """Robust standard deviation (MAD x 1.4826, floored)."""
    samples: int
    learning: bool

    def band(self, k: float = 3.0) -> tuple[float, float]:
        """``median ± k·spread`` (the low side floored at 0)."""
        return max(0.0, self.median - k * self.spread), self.median + k * self.spread


LEARNING = Expectation(0.0, 0.0, 0, True)


@dataclass(slots=True)
class _HourAcc:
    hour: int = -1
    total: float = 0.0
    minutes: int = 0
    anomalous: int = 0
    """Minutes of the hour a detector flagged: the hour is then not learnt as normal."""


@dataclass(slots=True)
class SeriesBaseline:
    """The slots of one (scope, metric): ``slots[slot]`` = {hour epoch: per-minute rate}."""

    slots: dict[int, dict[int, float]] = field(default_factory=dict)
    acc: _HourAcc = field(default_factory=_HourAcc)

    def add(self, hour_epoch: int, value: float) -> bool:
        """Record the mean per-minute ``value`` of the hour starting at ``hour_epoch``. False if rejected."""
        if not math.isfinite(value) or value < 0:
            return False
        slot = hour_of_week(hour_epoch)
        bucket = self.slots.setdefault(slot, {})
        bucket[hour_epoch] = value
        if len(bucket) > MAX_WEEKS:
            for old in sorted(bucket)[: len(bucket) - MAX_WEEKS]:
                del bucket[old]
        return True

    def pooled(self, slot: int) -> list[float]:
        """Samples of ``slot`` and its neighbours."""
        out: list[float] = []
        for s in (slot - 1, slot, slot + 1):
            out.extend(self.slots.get(s % HOURS_PER_WEEK, {}).values())
        return out

    @property
    def sample_count(self) -> int:
        """Hours recorded over all slots."""
        return sum(len(b) for b in self.slots.values())


@dataclass(frozen=True, slots=True)
class BaselineSettings:
    """Tuning of :class:`Baselines`."""

    min_samples: int = 3
    """Pooled samples a slot needs before it stops ``learning``."""
    min_minutes_per_hour: int = 45
    """Live minutes an hour needs before it becomes a sample (gaps are not "zero traffic")."""
    spread_floor_ratio: float = 0.2
    """The spread is at least this fraction of the median ..."""
    spread_floor_abs: float = 0.5
    """... and at least this many per minute."""
    step_weight: float = 1.0
    """The spread is at least this fraction of the step to a neighbouring hour's median."""


class Baselines:
    """All baselines, keyed by ``(scope, metric)``. Pure: persistence is :mod:`postaltop.store.baselines`."""

    def __init__(self, settings: BaselineSettings | None = None) -> None:
        self.settings = settings or BaselineSettings()
        self.series: dict[tuple[Scope, str], SeriesBaseline] = {}
        self.new_samples: list[tuple[Scope, str, int, float]] = []
        """Hourly samples added since the last :meth:`take_new` (for the store)."""
        self._slot_cache: dict[tuple[Scope, str, int], Expectation] = {}

    def _get(self, scope: Scope, metric: str) -> SeriesBaseline:
        key = (scope, metric)
        found = self.series.get(key)
        if found is None:
            found = self.series[key] = SeriesBaseline()
        return found

    def add_sample(
        self, scope: Scope, metric: str, hour_epoch: int, value: float, *, record: bool = True
    ) -> None:
        """Add one hourly sample (per-minute rate) directly."""
        hour_epoch = int(hour_epoch // 3600 * 3600)
        self._slot_cache.clear()
        if self._get(scope, metric).add(hour_epoch, value) and record:
            self.new_samples.append((scope, metric, hour_epoch, value))

    def take_new(self) -> list[tuple[Scope, str, int, float]]:
        """Samples added since the last call (and forget them)."""
        out, self.new_samples = self.new_samples, []
        return out

    def bootstrap(
        self, points: Iterable[HistoryPoint], server_scopes: Mapping[int, Scope], now: float | None = None
    ) -> int:
        """Add Postal's hourly/daily statistics as samples, per server and summed globally.

        Hourly rows win over daily rows of the same server; a daily row is spread evenly over its 24 hours
        only when the server has no hourly row at all. Rows of periods not over at ``now`` (default: the
        newest period present) are incomplete and skipped. Returns the number of hourly samples added.
        """
        hourly: dict[tuple[int, int], HistoryPoint] = {}
        daily: list[HistoryPoint] = []
        points = list(points)
        if now is None:
            newest = max((p.time + (3600 if p.granularity == "hour" else 86400) for p in points), default=0)
            now = newest - 1
        for p in points:
            if p.time + (3600 if p.granularity == "hour" else 86400) > now:
                continue
            if p.granularity == "hour":
                hourly[(p.server_id, int(p.time))] = p
            elif p.granularity == "day":
                daily.append(p)
        with_hourly = {sid for sid, _ in hourly}
        per_hour: dict[tuple[int, int], dict[str, float]] = {}
        for (sid, t), p in hourly.items():
            per_hour[(sid, t)] = {m: max(0, getattr(p, f)) / 60.0 for m, f in HISTORY_FIELDS.items()}
        for p in daily:
            if p.server_id in with_hourly:
                continue
            for h in range(24):
                t = int(p.time) + h * 3600
                per_hour[(p.server_id, t)] = {
                    m: max(0, getattr(p, f)) / 1440.0 for m, f in HISTORY_FIELDS.items()
                }
        totals: dict[int, dict[str, float]] = {}
        added = 0
        for (sid, t), values in per_hour.items():
            scope = server_scopes.get(sid, Scope(ScopeKind.SERVER, str(sid)))
            acc = totals.setdefault(t, dict.fromkeys(HISTORY_FIELDS, 0.0))
            for metric, value in values.items():
                self.add_sample(scope, metric, t, value)
                acc[metric] += value
            added += 1
        for t, values in totals.items():
            for metric, value in values.items():
                self.add_sample(GLOBAL, metric, t, value)
        return added

    def observe(self, scope: Scope, metric: str, minute_epoch: float, value: float) -> None:
        """Feed one live per-minute value; completed hours become samples.

        Minutes must arrive in time order per series; a value from an earlier hour than the one being
        accumulated (clock skew, replays) is ignored. NaN/inf/negative values are ignored. An hour with a
        minute flagged by a detector (:meth:`mark_anomalous`) is not learnt: an incident that lasts hours
        must not become its own baseline.
        """
        if not math.isfinite(value) or value < 0 or not math.isfinite(minute_epoch):
            return
        series = self._get(scope, metric)
        hour = int(minute_epoch // 3600 * 3600)
        acc = series.acc
        if hour < acc.hour:
            return
        if hour > acc.hour:
            complete = acc.minutes >= self.settings.min_minutes_per_hour
            if acc.hour >= 0 and complete and not acc.anomalous:
                self.add_sample(scope, metric, acc.hour, acc.total / acc.minutes)
            series.acc = acc = _HourAcc(hour)
        acc.total += value
        acc.minutes += 1

    def mark_anomalous(self, scope: Scope, metric: str, minute_epoch: float) -> None:
        """A detector flagged this minute: its hour, being an incident, is not learnt as a sample."""
        series = self.series.get((scope, metric))
        if series is not None and series.acc.hour == int(minute_epoch // 3600 * 3600):
            series.acc.anomalous += 1

    def _slot_median(self, series: SeriesBaseline, slot: int) -> tuple[float, list[float]] | None:
        own = list(series.slots.get(slot % HOURS_PER_WEEK, {}).values())
        pool = own if len(own) >= self.settings.min_samples else series.pooled(slot % HOURS_PER_WEEK)
        if len(pool) < self.settings.min_samples:
            return None
        return median(pool), pool

    def slot_expectation(self, scope: Scope, metric: str, slot: int) -> Expectation:
        """The expectation of one hour-of-week slot.

        The median of the slot's own samples (of its pool with the neighbouring hours while it has fewer
        than ``min_samples``); the spread is the MAD-based deviation, floored, and at least the step to
        the neighbouring hours' medians (a campaign sent at a fixed time makes an hour peaky inside).
        """
        key = (scope, metric, slot % HOURS_PER_WEEK)
        cached = self._slot_cache.get(key)
        if cached is not None:
            return cached
        series = self.series.get((scope, metric))
        if series is None:
            return LEARNING
        result = self._slot_expectation(series, slot)
        if len(self._slot_cache) > 20_000:
            self._slot_cache.clear()
        self._slot_cache[key] = result
        return result

    def _slot_expectation(self, series: SeriesBaseline, slot: int) -> Expectation:
        found = self._slot_median(series, slot)
        if found is None:
            pool = series.pooled(slot % HOURS_PER_WEEK)
            return Expectation(median(pool) if pool else 0.0, 0.0, len(pool), True)
        med, pool = found
        mad = median([abs(v - med) for v in pool])
        s = self.settings
        spread = max(mad * MAD_TO_SIGMA, med * s.spread_floor_ratio, s.spread_floor_abs)
        for other in (slot - 1, slot + 1):
            near = self._slot_median(series, other)
            if near is not None:
                spread = max(spread, abs(near[0] - med) * s.step_weight)
        return Expectation(med, spread, len(pool), False)

    def expect(self, scope: Scope, metric: str, ts: float) -> Expectation:
        """The expectation for ``scope``/``metric`` at ``ts`` (``learning`` when history is too thin).

        Hourly samples are means over the hour, so the value at ``ts`` is interpolated linearly between
        the medians of the two nearest hour centres (traffic ramps within an hour in the morning).
        """
        if not math.isfinite(ts):
            return LEARNING
        centre = ts - 1800.0
        slot = hour_of_week(centre)
        frac = (centre % 3600.0) / 3600.0
        a = self.slot_expectation(scope, metric, slot)
        if a.learning or frac == 0.0:
            return a
        b = self.slot_expectation(scope, metric, slot + 1)
        if b.learning:
            return a
        return Expectation(
            a.median + (b.median - a.median) * frac,
            a.spread + (b.spread - a.spread) * frac,
            min(a.samples, b.samples),
            False,
        )

    def expect_daily(self, scope: Scope, metric: str, ts: float) -> Expectation:
        """The hour-of-day expectation: samples of the same hour (±1) on every day kept, any weekday.

        The fallback while the hour-of-week slot is still learning (a credential known from two days of
        message history has no sample yet for this weekday's hour, but has this hour of the day before).
        Its spread is floored at half the median: days of any weekday, a campaign at another hour.
        """
        series = self.series.get((scope, metric))
        if series is None or not math.isfinite(ts):
            return LEARNING
        hour = hour_of_week(ts - 1800.0) % 24
        pool = [
            v
            for slot, bucket in series.slots.items()
            if min((slot - hour) % 24, (hour - slot) % 24) <= 1
            for v in bucket.values()
        ]
        if len(pool) < self.settings.min_samples:
            return Expectation(median(pool) if pool else 0.0, 0.0, len(pool), True)
        med = median(pool)
        mad = median([abs(v - med) for v in pool])
        s = self.settings
        # a profile from a few days of any weekday is less sure than an hour-of-week slot: a wider floor
        spread = max(mad * MAD_TO_SIGMA, med * DAILY_SPREAD_FLOOR_RATIO, s.spread_floor_abs)
        return Expectation(med, spread, len(pool), False)

    def is_learning(self, scope: Scope, metric: str, ts: float) -> bool:
        """True while the scope has too little history at ``ts``."""
        return self.expect(scope, metric, ts).learning

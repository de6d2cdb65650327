"""A streaming anomaly detector for one plain series (CPU %, latency, request counts): a score and an alarm.

Each point is judged against what came before it only:

* **Expected value.** The rolling median of the last ``window`` points. When timestamps show a daily
  sampling period (:func:`weekly_phases` gives each point's position in the week), two seasonal models
  are kept beside it: the median of the values seen at the same time of day on the last
  ``season_periods`` days, and at the same time of week on the last ``season_weeks`` weeks. A seasonal
  model is used only while it explains the series clearly better: its rolling spread is below
  ``season_gain`` times the plain one (the smaller spread wins). A flat or non-seasonal series keeps the
  plain median.
* **Spread.** The rolling median absolute deviation (x1.4826) of the chosen model, floored at
  ``floor_fraction`` of the window's range and a tiny fraction of the median, so a series that is
  constant most of the time (MAD 0) does not turn every wobble into an infinite deviation.
* **Deviation** ``z = (value - expected) / spread``, and a level deviation: the mean of the last
  ``level_points`` deviations (each clipped), times the square root of their count, which sees a shift or
  a ramp that no single point makes stand out.
* **Score in [0, 1].** ``(magnitude · novelty) ** score_power``: ``magnitude = 1 - 1 / (1 + (|z| /
  scale_z)²)`` grows with the deviation; ``novelty = 1 - recent / |z|`` where ``recent`` is the largest
  earlier deviation of the same sign, fading by a factor e every ``novelty_memory`` points (0 when the
  deviation is no larger). A series that is always spiky therefore scores its ordinary spikes low, and an
  anomaly scores high at its onset, not at every point that follows it. The level deviation is scored the
  same way, weighted by ``level_weight``; the point's score is the larger of the two.
* **Alarm.** Raised when the score reaches ``alarm_score``, or when an excursion out of the band
  (``|z| >= band_z``) grows past both ``alarm_z`` and ``alarm_ratio`` times the largest earlier deviation
  remembered when it began (the score judges each point against the excursion's own earlier points, so
  a ramp's score stays moderate while the ramp grows); it ends once ``clear_points`` points in a row are
  back in the band, so an alarm never outlives the excursion that raised it. A seasonal series raises no
  alarm during its first day (its cycle is not known yet), and none from an excursion alone during its
  first week (the weekly model has not seen a weekend yet).

``bench/nab.py`` scores this detector on the Numenta Anomaly Benchmark (one parameter set for every series).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from postaltop.core.baseline import MAD_TO_SIGMA
from postaltop.core.rolling import DecayingMax, RollingMedian

SECONDS_PER_DAY = 86_400.0
MONDAY = 345_600.0
"""A Monday 00:00 UTC (1970-01-05), the origin of positions in the week."""
Z_LIMIT = 1e6
"""Deviations are clipped to this many spreads (a spread floored near zero must not make infinities)."""


@dataclass(frozen=True, slots=True)
class SeriesSettings:
    """Tuning of :class:`SeriesDetector` (one set for every series)."""

    window: int = 4000
    """Points in the rolling median and spread."""
    min_points: int = 30
    """Points needed before anything is judged (score 0 until then)."""
    novelty_memory: float = 8000.0
    """Points over which the largest deviation seen fades by a factor e (novelty is judged against it)."""
    scale_z: float = 6.0
    """Deviation (in spreads) at which the magnitude term is 0.5."""
    level_points: int = 12
    """Points averaged by the level deviation."""
    level_weight: float = 0.5
    """Weight of the level deviation's score."""
    season_periods: int = 3
    """Past days whose values at the same time of day make the daily expectation."""
    season_weeks: int = 2
    """Past weeks whose values at the same time of week make the weekly expectation (0: no weekly model)."""
    season_gain: float = 0.6
    """The seasonal model is used while its spread is below this fraction of the plain model's."""
    floor_fraction: float = 0.01
    """Spread floor as a fraction of the window's range."""
    score_power: float = 0.25
    """The score is raised to this power: a monotone stretch (no ranking changes) that puts the thresholds
    NAB's optimiser picks near 0.5."""
    alarm_score: float = 0.75
    """Score that raises the alarm."""
    alarm_z: float = 6.0
    alarm_ratio: float = 1.2
    """An excursion out of the band also raises the alarm once ``|z|`` reaches ``alarm_z`` and ``alarm_ratio``
    times the largest earlier deviation remembered when it began (a ramp that outgrows the past); not
    during a seasonal series' first week, when the weekly model has not seen a weekend yet."""
    band_z: float = 3.0
    """A point with ``|z|`` below this is back in the band."""
    clear_points: int = 3
    """Points in a row back in the band that end an alarm."""


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """The verdict on one point."""

    score: float
    """Anomaly score in [0, 1]."""
    z: float
    """Signed deviation from the expected value, in spreads (0 while learning or for a missing value)."""
    alarm: bool
    """True while an alarm is raised."""


def _magnitude(deviation: float, scale: float) -> float:
    ratio = deviation / scale
    return 1.0 - 1.0 / (1.0 + ratio * ratio)


def _upper_median(values: deque[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _novelty(deviation: float, recent: float) -> float:
    return 0.0 if deviation <= recent else (deviation - recent) / deviation


class _Season:
    """The values seen at each phase of one period (their median is the expectation) and the spread left."""

    __slots__ = ("dev", "keep", "needed", "period", "seen")

    def __init__(self, period: int, keep: int, needed: int, window: int) -> None:
        self.period = period
        self.keep = max(1, keep)
        self.needed = max(1, min(needed, self.keep))
        self.seen: dict[int, deque[float]] = {}
        self.dev = RollingMedian(window)

    def expected(self, phase: int) -> float | None:
        """The usual value at ``phase`` (None until ``needed`` periods were seen there)."""
        seen = self.seen.get(phase % self.period)
        return _upper_median(seen) if seen is not None and len(seen) >= self.needed else None

    def learn(self, phase: int, value: float) -> None:
        key = phase % self.period
        seen = self.seen.get(key)
        if seen is None:
            seen = self.seen[key] = deque(maxlen=self.keep)
        if len(seen) >= self.needed:
            self.dev.add(abs(value - _upper_median(seen)))
        seen.append(value)


class SeriesDetector:
    """Judge one series point by point; see the module description."""

    def __init__(self, settings: SeriesSettings | None = None, period: int | None = None) -> None:
        """``period``: points per day (None or < 2: no seasonal model)."""
        s = settings or SeriesSettings()
        self.settings = s
        self.period = period if period is not None and period >= 2 else None
        self._level = RollingMedian(s.window)
        self._plain_dev = RollingMedian(s.window)
        self._seasons: list[_Season] = []
        if self.period is not None:
            self._seasons.append(_Season(self.period, s.season_periods, 2, s.window))
            if s.season_weeks > 0:
                self._seasons.append(_Season(7 * self.period, s.season_weeks, 1, s.window))
        self._recent = (DecayingMax(s.novelty_memory), DecayingMax(s.novelty_memory))
        self._recent_level = (DecayingMax(s.novelty_memory), DecayingMax(s.novelty_memory))
        self._last_z: deque[float] = deque(maxlen=max(1, s.level_points))
        self._step = 0
        self._alarm = False
        self._in_band = 0
        self._bar: float | None = None
        # no alarm during a seasonal series' first day (its cycle is not known yet), and none from an
        # excursion alone during its first week (the weekly model has not seen a weekend yet)
        self._first_day = self.period if self.period is not None else 0
        self._learning = 7 * self.period if self.period is not None else s.min_points

    def update(self, value: float, phase: int | None = None) -> SeriesPoint:
        """Judge ``value`` (NaN: missing, judged 0 and not learnt), then learn it.

        ``phase`` is the point's position in the week, in points (see :func:`weekly_phases`); without
        it, or without a period, only the plain model is used.
        """
        step = self._step
        self._step += 1
        if not math.isfinite(value):
            return SeriesPoint(0.0, 0.0, self._alarm)
        s = self.settings
        score = 0.0
        z = 0.0
        if len(self._level) >= s.min_points:
            z = self._deviation(value, phase)
            if abs(z) >= s.band_z:
                self._in_band = 0
                if self._bar is None:
                    self._bar = self._recent[0 if z >= 0 else 1].get(step)
            elif self._bar is not None:
                self._in_band += 1
                if self._in_band >= s.clear_points:
                    self._bar = None
                    self._alarm = False
            score = self._score(step, z)
            outgrown = (
                self._bar is not None
                and step >= self._learning
                and abs(z) >= max(s.alarm_z, s.alarm_ratio * self._bar)
            )
            if (score >= s.alarm_score and step >= self._first_day) or outgrown:
                self._alarm = True
        self._learn(value, phase)
        return SeriesPoint(score, z, self._alarm)

    def _spread(self, mad: float, level: float) -> float:
        floor = max(self.settings.floor_fraction * self._level.span(), 1e-6 * abs(level), 1e-12)
        return max(MAD_TO_SIGMA * mad, floor)

    def _deviation(self, value: float, phase: int | None) -> float:
        level = self._level.median()
        plain = self._spread(self._plain_dev.median(), level)
        residual, spread = value - level, plain
        if phase is not None:
            for season in self._seasons:
                expected = season.expected(phase)
                if expected is None or len(season.dev) < self.settings.min_points:
                    continue
                candidate = self._spread(season.dev.median(), level)
                if candidate < self.settings.season_gain * plain and candidate < spread:
                    residual, spread = value - expected, candidate
        return max(-Z_LIMIT, min(Z_LIMIT, residual / spread))

    def _score(self, step: int, z: float) -> float:
        s = self.settings
        size = abs(z)
        recent = self._recent[0 if z >= 0 else 1]
        score = _magnitude(size, s.scale_z) * _novelty(size, recent.get(step))
        recent.add(step, size)
        if s.level_points > 0:
            clip = 3.0 * s.scale_z
            self._last_z.append(max(-clip, min(clip, z)))
            if len(self._last_z) == s.level_points:
                shift = sum(self._last_z) / math.sqrt(s.level_points)
                size = abs(shift)
                recent = self._recent_level[0 if shift >= 0 else 1]
                level = _magnitude(size, s.scale_z) * _novelty(size, recent.get(step))
                recent.add(step, size)
                score = max(score, s.level_weight * level)
        return math.pow(min(1.0, max(0.0, score)), self.settings.score_power)

    def _learn(self, value: float, phase: int | None) -> None:
        if len(self._level):
            self._plain_dev.add(abs(value - self._level.median()))
        if phase is not None:
            for season in self._seasons:
                season.learn(phase, value)
        self._level.add(value)


def weekly_phases(timestamps: Sequence[float], learn: int = 100) -> tuple[int | None, list[int]]:
    """Points per day and each point's position in the week (in points), from UNIX timestamps.

    The sampling step is the median gap of the first ``learn`` timestamps (what a stream knows early);
    positions come from the clock (Monday 00:00 UTC is 0), so gaps in the series do not shift them. No
    period (None) when a day holds fewer than 4 or more than 10 080 steps, or the step does not divide it.
    """
    none: tuple[int | None, list[int]] = (None, [0] * len(timestamps))
    gaps = [b - a for a, b in itertools.pairwise(timestamps[:learn]) if b > a]
    if not gaps:
        return none
    step = statistics.median(gaps)
    period = round(SECONDS_PER_DAY / step)
    if not 4 <= period <= 10_080 or abs(period * step - SECONDS_PER_DAY) > step / 2:
        return none
    week = 7 * period
    return period, [int(((t - MONDAY) % (7 * SECONDS_PER_DAY)) // step) % week for t in timestamps]


def score_series(
    values: Sequence[float],
    timestamps: Sequence[float] | None = None,
    settings: SeriesSettings | None = None,
) -> list[SeriesPoint]:
    """Run a fresh :class:`SeriesDetector` over ``values`` (seasonal when ``timestamps`` show a day)."""
    period, phases = weekly_phases(timestamps) if timestamps is not None else (None, [0] * len(values))
    detector = SeriesDetector(settings, period)
    if period is None:
        return [detector.update(v) for v in values]
    return [detector.update(v, p) for v, p in zip(values, phases, strict=True)]

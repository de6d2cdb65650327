"""The series detector on NAB-format series built here: 5-minute points, a daily cycle, UNIX timestamps."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postaltop.core.detect.series import (
    SeriesDetector,
    SeriesPoint,
    SeriesSettings,
    score_series,
    weekly_phases,
)
from postaltop.core.rolling import DecayingMax, RollingMedian

T0 = 1_772_323_200.0  # Sunday 2026-03-01 00:00 UTC
STEP = 300.0
DAY = 288


def stamps(n: int, step: float = STEP) -> list[float]:
    return [T0 + step * i for i in range(n)]


def seasonal(n: int, seed: int, noise: float = 3.0, weekend: float = 0.6) -> list[float]:
    """Daily cycle (peak mid-day), quieter weekends, Gaussian noise: like a mail server's send rate."""
    rng = random.Random(seed)
    out = []
    for i, t in enumerate(stamps(n)):
        day = int((t // 86_400 + 3) % 7)  # 0 = Monday
        scale = weekend if day >= 5 else 1.0
        out.append(
            scale * (100 + 60 * math.sin(2 * math.pi * (i % DAY) / DAY - math.pi / 2)) + rng.gauss(0, noise)
        )
    return out


def runs(flags: list[bool]) -> list[int]:
    """Lengths of the runs of True."""
    out: list[int] = []
    length = 0
    for f in [*flags, False]:
        if f:
            length += 1
        elif length:
            out.append(length)
            length = 0
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_seasonal_series_without_anomaly_raises_no_lasting_alarm(seed: int) -> None:
    values = seasonal(DAY * 21, seed)  # three weeks, three weekends
    points = score_series(values, stamps(len(values)))
    alarms = [p.alarm for p in points]
    assert not any(alarms[:DAY])  # the first day teaches the cycle
    assert sum(alarms) / len(alarms) < 0.01
    assert max(runs(alarms), default=0) <= 6
    judged = points[DAY * 2 :]
    assert max(p.score for p in judged) < SeriesSettings().alarm_score


def test_daily_cycle_makes_a_noon_value_at_night_an_anomaly() -> None:
    values = seasonal(DAY * 14, 4, noise=1.0, weekend=1.0)
    night = DAY * 12 + 10  # about 00:50, when the cycle is at its lowest (~40)
    values[night : night + 6] = [150.0] * 6  # an ordinary mid-day value
    with_period = score_series(values, stamps(len(values)))
    without = score_series(values)  # no timestamps, no period: the daily swing is all "normal spread"
    alarm = SeriesSettings().alarm_score
    assert max(p.score for p in with_period[night : night + 6]) >= alarm
    assert max(p.score for p in without[night : night + 6]) < alarm
    assert abs(with_period[night].z) > 10 * abs(without[night].z)


def inject(values: list[float], kind: str, at: int, length: int = 24) -> list[float]:
    out = list(values)
    for i in range(at, min(len(out), at + length)):
        if kind == "spike":
            out[i] += 150 if i == at else 0
        elif kind == "shift":
            out[i] += 40
        elif kind == "drop":
            out[i] -= 40
        elif kind == "ramp":
            out[i] += 6.0 * (i - at)
    return out


@pytest.mark.parametrize("kind", ["spike", "shift", "drop", "ramp"])
def test_anomaly_scores_high_inside_its_window_only(kind: str) -> None:
    # a Wednesday after three weeks and a half of history: the first weekend (judged before the weekly
    # model had a week to learn from) raised a deviation of ~16 spreads that still fades in the memory
    at = DAY * 24 + 100
    values = inject(seasonal(DAY * 26, 5), kind, at)
    points = score_series(values, stamps(len(values)))
    window = range(at - 30, at + 30)  # NAB-style window centred on the onset
    inside = max(points[i].score for i in window)
    learnt = DAY * 8  # the first week teaches the weekly model what a weekend looks like
    outside = max(p.score for i, p in enumerate(points[learnt:], learnt) if i not in window)
    assert inside > outside
    first = next(i for i in window if points[i].alarm)
    assert at <= first <= at + 12


def test_scores_are_always_in_the_unit_interval_and_z_is_finite() -> None:
    rng = random.Random(9)
    values = [rng.choice([0.0, 1.0, 1e12, -1e12, 5.0, math.nan, math.inf]) for _ in range(3000)]
    for p in score_series(values, stamps(len(values))):
        assert 0.0 <= p.score <= 1.0 and math.isfinite(p.z)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=300))
def test_any_input_gives_scores_in_unit_interval(values: list[float]) -> None:
    detector = SeriesDetector(SeriesSettings(min_points=5, window=50, novelty_memory=50.0))
    for v in values:
        p = detector.update(v)
        assert 0.0 <= p.score <= 1.0 and math.isfinite(p.z)


def test_constant_series_with_mad_zero_does_not_explode() -> None:
    values = [7.0] * 3000
    quiet = score_series(values, stamps(len(values)))
    assert all(p.score == 0.0 and p.z == 0.0 and not p.alarm for p in quiet)
    # mostly constant, one integer wobble now and then (MAD stays 0): the floor keeps z bounded
    wobbly = [7.0 + (1.0 if i % 97 == 0 else 0.0) for i in range(3000)]
    points = score_series(wobbly, stamps(len(wobbly)))
    late = points[1500:]
    assert max(abs(p.z) for p in late) <= 100.0  # one step of the series is 1 % of its range at most
    assert sum(p.alarm for p in late) <= 3
    # a real change on that series is still seen
    changed = wobbly[:2000] + [20.0] * 50 + wobbly[2050:]
    hit = score_series(changed, stamps(len(changed)))
    assert hit[2000].score >= SeriesSettings().alarm_score and hit[2000].alarm


def test_alarm_clears_when_the_series_is_back_in_its_band() -> None:
    values = seasonal(DAY * 19, 6)
    at, length = DAY * 17, 20
    values = inject(values, "shift", at, length)
    points = score_series(values, stamps(len(values)))
    alarms = [p.alarm for p in points]
    assert any(alarms[at : at + 3])
    clear = SeriesSettings().clear_points
    assert not any(alarms[at + length + clear + 2 :])


def test_missing_values_are_judged_empty_and_not_learnt() -> None:
    detector = SeriesDetector()
    for _ in range(100):
        detector.update(1.0)
    assert detector.update(math.nan) == SeriesPoint(0.0, 0.0, False)


def test_weekly_phases_from_timestamps() -> None:
    period, phases = weekly_phases(stamps(600))
    assert period == 288 and phases[0] == 6 * DAY and phases[287] == 7 * DAY - 1 and phases[288] == 0
    gappy = stamps(100) + [T0 + 86_400 + STEP * i for i in range(10)]  # a gap does not shift the phase
    assert weekly_phases(gappy)[1][100] == 0  # Monday 00:00
    assert weekly_phases(stamps(50, 3600.0))[0] == 24
    assert weekly_phases(stamps(50, 86_400.0))[0] is None  # daily points: no daily cycle to fold
    assert weekly_phases([T0])[0] is None


def test_rolling_median_and_fading_max_match_brute_force() -> None:
    rng = random.Random(3)
    med, top = RollingMedian(25), DecayingMax(40.0)
    seen: list[float] = []
    for step in range(500):
        v = rng.choice([rng.gauss(0, 1), 0.0, 1.0, 5.0])
        expected_top = max([0.0, *(x * math.exp(-(step - i) / 40.0) for i, x in enumerate(seen))])
        assert top.get(step) == pytest.approx(expected_top)
        med.add(v)
        top.add(step, v)
        seen.append(v)
        window = seen[-25:]
        assert med.median() == sorted(window)[len(window) // 2]
        assert med.span() == max(window) - min(window)
    assert math.isnan(RollingMedian(3).median()) and DecayingMax(3.0).get(0) == 0.0
    with pytest.raises(ValueError):
        RollingMedian(0)
    with pytest.raises(ValueError):
        DecayingMax(0.0)

"""NAB scoring (standard profile) on small hand-built series, and the detectors' series adapter."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest

from postaltop.core.detect.series import SeriesSettings, detect_series
from postaltop.core.nab_score import (
    normalised,
    probation_length,
    scaled_sigmoid,
    score_file,
    window_indices,
)

WINDOWS = [(10, 19)]
N = 100


def flags(*at: int, n: int = N) -> list[bool]:
    out = [False] * n
    for i in at:
        out[i] = True
    return out


def test_scaled_sigmoid_published_values() -> None:
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661430)
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661430)
    assert scaled_sigmoid(3.5) == -1.0


def test_perfect_detector_scores_100_and_null_0() -> None:
    windows = [(10, 19), (50, 59), (80, 89)]
    perfect = score_file(flags(10, 50, 80), windows, probation=0)
    null = score_file(flags(), windows, probation=0)
    assert perfect.raw == pytest.approx(3.0) and perfect.true_positives == 3
    assert normalised(perfect.raw, 3) == pytest.approx(100.0)
    assert null.raw == -3.0 and null.false_negatives == 3
    assert normalised(null.raw, 3) == 0.0


def test_late_detection_earns_less() -> None:
    # last point of a 10-point window: y = -1/10, sigma = 2/(1+e^-0.5)-1 = 0.244919, / 0.986614
    late = score_file(flags(19), WINDOWS, probation=0)
    assert late.raw == pytest.approx(0.248242, abs=1e-6)
    middle = score_file(flags(14), WINDOWS, probation=0)  # y = -6/10 ... earlier than late, more points
    assert late.raw < middle.raw < 1.0


def test_only_the_first_detection_in_a_window_counts() -> None:
    result = score_file(flags(10, 12, 15, 19), WINDOWS, probation=0)
    assert result.raw == pytest.approx(1.0) and result.true_positives == 1 and result.false_positives == 0


def test_false_positives_before_and_after_windows() -> None:
    # before any window: -A_FP
    assert score_file(flags(5, 10), WINDOWS, probation=0).raw == pytest.approx(1.0 - 0.11)
    # 9 points past the window's end, width 10: y = 9 / 9 = 1 -> 0.11 * sigma(1) = -0.108528
    assert score_file(flags(10, 28), WINDOWS, probation=0).raw == pytest.approx(1.0 - 0.108528, abs=1e-6)
    # far away (y > 3): -A_FP
    assert score_file(flags(10, 60), WINDOWS, probation=0).raw == pytest.approx(1.0 - 0.11)
    # just after the window it hardly costs anything (y = 1/9)
    near = score_file(flags(10, 20), WINDOWS, probation=0).raw
    assert 1.0 - 0.11 < near < 1.0 and near == pytest.approx(1.0 + 0.11 * scaled_sigmoid(1 / 9))


def test_probation_ignores_early_detections() -> None:
    assert probation_length(100) == 15 and probation_length(100_000) == 750
    result = score_file(flags(5, 20), [(20, 29)])
    assert result.false_positives == 0 and result.raw == pytest.approx(1.0)


def test_missed_window_costs_a_full_point() -> None:
    result = score_file(flags(10), [(10, 19), (50, 59)], probation=0)
    assert result.raw == pytest.approx(0.0) and result.false_negatives == 1
    assert normalised(result.raw, 2) == pytest.approx(50.0)


def test_window_indices_from_timestamps() -> None:
    times = [float(60 * i) for i in range(20)]
    assert window_indices(times, [(600.0, 900.0), (10_000.0, 20_000.0), (0.0, 30.0)]) == [(0, 0), (10, 15)]


def series(seed: int, n: int = 1500) -> list[float]:
    rng = random.Random(seed)
    return [100 + 20 * math.sin(2 * math.pi * i / 288) + rng.gauss(0, 3) for i in range(n)]


def test_detectors_catch_a_spike_and_stay_quiet_on_normal_data() -> None:
    quiet = series(1)
    assert sum(detect_series(quiet, SeriesSettings(ramp=False))) == 0
    spiked = list(quiet)
    for i in range(1000, 1020):
        spiked[i] += 200
    hits = [i for i, f in enumerate(detect_series(spiked, SeriesSettings(ramp=False))) if f]
    assert hits and 1000 <= hits[0] <= 1003
    dropped = list(quiet)
    for i in range(1000, 1020):
        dropped[i] -= 200
    assert any(detect_series(dropped, SeriesSettings(ramp=False))[1000:1005])


def test_detect_series_survives_nan_and_constant_values() -> None:
    values = [5.0] * 300 + [math.nan] * 10 + [5.0] * 100
    assert sum(detect_series(values)) == 0


def test_bench_scores_a_generated_corpus(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(root / "bench" / "nab.py"), "--quick", "--generate", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bench"] == "nab_standard" and result["files"] == 6
    assert 0.0 < result["figure"] <= 100.0
    labels = json.loads((tmp_path / "labels.json").read_text())
    assert len(labels) == 6 and all(len(w) == 2 for w in labels.values())

"""NAB scoring on small hand-built series: binary detections, and the threshold sweep of continuous scores."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from postaltop.core.nab_score import (
    PROFILES,
    SweepPoint,
    best_threshold,
    normalised,
    probation_length,
    scaled_sigmoid,
    score_file,
    sweep_points,
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


def test_sweep_picks_the_best_threshold_and_agrees_with_binary_scoring() -> None:
    rng = random.Random(11)
    files = []
    for n in (300, 500, 800):
        windows = [(n // 3, n // 3 + 20), (2 * n // 3, 2 * n // 3 + 30)]
        scores = [round(rng.random() ** 4, 2) for _ in range(n)]
        files.append((scores, windows))
    for profile in PROFILES.values():
        points: list[SweepPoint] = []
        scored: list[int] = []
        base = 0
        for scores, windows in files:
            found, held = sweep_points(scores, windows, profile, first_window=base)
            points += found
            scored += held
            base += len(windows)
        best = best_threshold(points, scored, profile)
        by_threshold = {
            t: sum(score_file([x >= t for x in s], w, profile).raw for s, w in files)
            for t in sorted({x for s, _ in files for x in s} | {1.1})
        }
        assert best.raw == pytest.approx(max(by_threshold.values()))
        assert by_threshold[best.threshold] == pytest.approx(best.raw)


def test_sweep_of_a_perfect_and_a_null_score() -> None:
    windows = [(200, 219), (400, 419)]
    perfect = [1.0 if i in (200, 400) else 0.0 for i in range(600)]
    found, held = sweep_points(perfect, windows)
    best = best_threshold(found, held)
    assert best.threshold == 1.0 and normalised(best.raw, 2) == pytest.approx(100.0)
    found, held = sweep_points([0.5] * 600, windows)
    best = best_threshold(found, held)
    assert best.threshold == 1.1 and best.raw == -2.0 and normalised(best.raw, 2) == 0.0
    early = [1.0 if i == 50 else 0.0 for i in range(600)]  # inside the probationary period: not scored
    assert sweep_points(early, windows)[0][50 - probation_length(600)].score == 0.0


def test_bench_scores_a_generated_corpus(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(root / "bench" / "nab.py"), "--generate", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bench"] == "nab" and result["files"] == 6 and result["target_met"]
    assert 0.0 < result["figure"] <= 100.0 and 0.0 < result["ceiling"] <= 100.0
    assert set(result["profiles"]) == {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}
    labels = json.loads((tmp_path / "labels.json").read_text())
    assert len(labels) == 6 and all(len(w) == 2 for w in labels.values())

"""The Numenta Anomaly Benchmark's scoring, from its published definition (pure, no I/O).

NAB scores a detector's binary detections against labelled anomaly windows:

* Inside a window, only the earliest detection counts, weighted by a scaled sigmoid of its relative
  position ``y = -(right - i + 1) / width`` (``-1`` at the window's first point, towards ``0`` at its
  end): ``A_TP · S(y) / S(-1)``, so the first point of a window earns the full ``A_TP``.
* A detection outside every window is a false positive: ``A_FP · S(y)`` with ``y`` its distance past the
  preceding window's end over that window's ``width - 1`` (negative, tending to ``-A_FP`` further away);
  ``-A_FP`` before the first window or beyond three widths.
* A window without a detection costs ``-A_FN``. Detections in the probationary period (the first 15 % of
  a file, at most 750 points) are ignored.
* ``S(y) = 2 / (1 + e^{5y}) - 1``. The corpus score is normalised: ``100 · (raw - null) / (perfect - null)``
  with the null detector (no detections: ``-A_FN`` per window) and the perfect one (``A_TP`` per window).

The standard profile is ``A_TP = 1``, ``A_FP = 0.11``, ``A_FN = 1``; "reward low FP rate" doubles
``A_FP`` (0.22) and "reward low FN rate" doubles ``A_FN`` (2).

A detector that reports a continuous score in ``[0, 1]`` is scored the way NAB's optimiser does it: every
point whose score is at or above a threshold is a detection (each one outside a window costs its weighted
false-positive value, each window keeps its best true-positive value), and one threshold per profile is
chosen to maximise the raw score summed over the whole corpus (:func:`sweep_points`, :func:`best_threshold`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T", int, float, str)


@dataclass(frozen=True, slots=True)
class Profile:
    """Application profile weights."""

    tp: float
    fp: float
    fn: float


STANDARD = Profile(tp=1.0, fp=0.11, fn=1.0)
REWARD_LOW_FP = Profile(tp=1.0, fp=0.22, fn=1.0)
REWARD_LOW_FN = Profile(tp=1.0, fp=0.11, fn=2.0)
PROFILES = {"standard": STANDARD, "reward_low_FP_rate": REWARD_LOW_FP, "reward_low_FN_rate": REWARD_LOW_FN}
PROBATION_FRACTION = 0.15
PROBATION_MAX = 750


def scaled_sigmoid(y: float) -> float:
    """NAB's ``2 / (1 + e^{5y}) - 1`` (``-1`` beyond three window widths past a window)."""
    if y > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def probation_length(n: int) -> int:
    """Points at the start of a file whose detections are ignored."""
    return min(math.floor(PROBATION_FRACTION * n), PROBATION_MAX)


def window_indices(timestamps: Sequence[T], windows: Sequence[tuple[T, T]]) -> list[tuple[int, int]]:
    """Inclusive index ranges of ``windows`` (``[start, end]`` in timestamp units) in sorted ``timestamps``.

    A window that holds no point is dropped.
    """
    out: list[tuple[int, int]] = []
    for start, end in windows:
        idx = [i for i, t in enumerate(timestamps) if start <= t <= end]
        if idx:
            out.append((idx[0], idx[-1]))
    out.sort()
    return out


@dataclass(frozen=True, slots=True)
class FileScore:
    """The raw score of one file and what made it."""

    raw: float
    windows: int
    true_positives: int
    false_positives: int
    false_negatives: int


def score_file(
    detections: Sequence[bool],
    windows: Sequence[tuple[int, int]],
    profile: Profile = STANDARD,
    probation: int | None = None,
) -> FileScore:
    """Raw NAB score of binary ``detections`` against inclusive index ``windows`` (sorted, disjoint).

    Args:
        detections: one flag per data point.
        windows: ``(first, last)`` indices of each anomaly window.
        profile: the weights (standard by default).
        probation: points at the start to ignore (NAB's 15 % rule when None).
    """
    n = len(detections)
    skip = probation_length(n) if probation is None else probation
    max_tp = scaled_sigmoid(-1.0)
    raw = 0.0
    tp = fp = 0
    detected = [False] * len(windows)
    w = 0  # index of the first window not ending before i
    for i in range(n):
        while w < len(windows) and windows[w][1] < i:
            w += 1
        if not detections[i] or i < skip:
            continue
        if w < len(windows) and windows[w][0] <= i:
            if not detected[w]:
                left, right = windows[w]
                width = right - left + 1
                raw += profile.tp * scaled_sigmoid(-(right - i + 1) / width) / max_tp
                detected[w] = True
                tp += 1
            continue
        fp += 1
        if w == 0:
            raw -= profile.fp
            continue
        left, right = windows[w - 1]
        width = right - left + 1
        y = abs(right - i) / (width - 1) if width > 1 else math.inf
        raw += profile.fp * scaled_sigmoid(y)
    missed = detected.count(False)
    raw -= profile.fn * missed
    return FileScore(raw, len(windows), tp, fp, missed)


def null_score(windows: int, profile: Profile = STANDARD) -> float:
    """Raw score of a detector that never fires."""
    return -profile.fn * windows


def perfect_score(windows: int, profile: Profile = STANDARD) -> float:
    """Raw score of a detector that fires exactly at the first point of every window."""
    return profile.tp * windows


def normalised(raw: float, windows: int, profile: Profile = STANDARD) -> float:
    """``100 · (raw - null) / (perfect - null)`` over a corpus with ``windows`` windows in all."""
    null = null_score(windows, profile)
    span = perfect_score(windows, profile) - null
    return 0.0 if span <= 0 else 100.0 * (raw - null) / span


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """A scorable point: its anomaly score, its weighted value if detected, its window (None: outside)."""

    score: float
    value: float
    window: int | None


def sweep_points(
    scores: Sequence[float],
    windows: Sequence[tuple[int, int]],
    profile: Profile = STANDARD,
    first_window: int = 0,
    probation: int | None = None,
) -> tuple[list[SweepPoint], list[int]]:
    """The points after the probationary period with the value each adds when detected, and their windows.

    A point inside a window is worth ``A_TP · S(y) / S(-1)`` (only the window's best detected point counts);
    a point outside is worth its false-positive cost (see the module's description). Windows are numbered
    from ``first_window`` so that several files can be swept together; the second list holds the numbers of
    the windows that have a point after the probationary period (a window entirely inside it is not scored).
    """
    n = len(scores)
    skip = probation_length(n) if probation is None else probation
    max_tp = scaled_sigmoid(-1.0)
    points: list[SweepPoint] = []
    scored: set[int] = set()
    w = 0
    for i in range(n):
        while w < len(windows) and windows[w][1] < i:
            w += 1
        if w < len(windows) and windows[w][0] <= i:
            left, right = windows[w]
            value = profile.tp * scaled_sigmoid(-(right - i + 1) / (right - left + 1)) / max_tp
            window: int | None = first_window + w
        else:
            window = None
            if w == 0:
                value = -profile.fp
            else:
                left, right = windows[w - 1]
                width = right - left + 1
                value = profile.fp * (scaled_sigmoid(abs(right - i) / (width - 1)) if width > 1 else -1.0)
        if i >= skip:
            points.append(SweepPoint(scores[i], value, window))
            if window is not None:
                scored.add(window)
    return points, sorted(scored)


@dataclass(frozen=True, slots=True)
class ThresholdResult:
    """The best threshold of a sweep and what it scores."""

    threshold: float
    raw: float
    true_positives: int
    false_positives: int
    detected_windows: int


def best_threshold(
    points: Sequence[SweepPoint], windows: Sequence[int], profile: Profile = STANDARD
) -> ThresholdResult:
    """The threshold (a score at which points are detections: ``score >= threshold``) with the best raw score.

    Scores are visited from the highest down; the raw score after every distinct score is the sum of the
    false-positive values of the detected points outside windows, the best value of each window with a
    detected point, and ``-A_FN`` for every other window. Ties keep the highest threshold (no detections:
    a threshold above 1).
    """
    ordered = sorted(points, key=lambda p: p.score, reverse=True)
    best_in: dict[int, float] = {}
    fp_sum = 0.0
    tp_points = fp_points = 0
    missed = float(len(windows)) * profile.fn
    window_sum = 0.0
    best = ThresholdResult(1.1, -missed, 0, 0, 0)
    for k, point in enumerate(ordered):
        if point.window is None:
            fp_sum += point.value
            fp_points += 1
        else:
            tp_points += 1
            old = best_in.get(point.window)
            if old is None:
                best_in[point.window] = point.value
                window_sum += point.value
                missed -= profile.fn
            elif point.value > old:
                best_in[point.window] = point.value
                window_sum += point.value - old
        if k + 1 < len(ordered) and ordered[k + 1].score == point.score:
            continue
        raw = fp_sum + window_sum - missed
        if raw > best.raw:
            best = ThresholdResult(point.score, raw, tp_points, fp_points, len(best_in))
    return best

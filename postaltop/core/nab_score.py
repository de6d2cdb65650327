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

The standard profile is ``A_TP = 1``, ``A_FP = 0.11``, ``A_FN = 1``.
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

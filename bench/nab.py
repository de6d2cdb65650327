"""Benchmark: the series detector's NAB scores (standard, reward low FP, reward low FN) on NAB-format data.

Reads every ``*.csv`` named in LABELS_JSON under DATA_DIR in the Numenta Anomaly Benchmark's format (a
``timestamp,value`` header, one point per row); LABELS_JSON maps a file's path relative to DATA_DIR to its
anomaly windows ``[[start, end], ...]`` like NAB's ``labels/combined_windows.json``. Every series goes through
:func:`postaltop.core.detect.series.score_series` (one parameter set for all of them, its continuous score)
and, in the same run, through a windowed-Gaussian reference (the tail probability of each value under the
mean and standard deviation of the previous 6400 values, refreshed every 100 points: NAB's own baseline
detector, implemented here). Both are scored the way NAB's optimiser does it
(:mod:`postaltop.core.nab_score`): per profile, the threshold that maximises the corpus score, normalised
so that the null detector scores 0 and the perfect one 100.

    python bench/nab.py DATA_DIR LABELS_JSON          # e.g. NAB's data/ and labels/combined_windows.json
    python bench/nab.py --generate DIR                # write a synthetic NAB-format corpus to DIR, score it

The last line is JSON: ``figure`` (the detector's standard score), ``ceiling`` (the windowed Gaussian's in
the same run: the reference, not an upper bound), their ``ratio``, the ``target`` (40), all three profiles
for both, the detector's alarm-on share of all points and of the files without anomaly windows, and the
time taken. Per-detector summaries go to stderr.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import json
import math
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memory import peak_rss_mb

from postaltop.core.detect.series import score_series
from postaltop.core.nab_score import (
    PROFILES,
    SweepPoint,
    best_threshold,
    normalised,
    sweep_points,
    window_indices,
)

TARGET = 40.0
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
GAUSSIAN_WINDOW = 6400
GAUSSIAN_STEP = 100


def parse_time(text: str) -> datetime:
    """A NAB timestamp (``2014-04-10 07:15:00`` with optional fractional seconds)."""
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise ValueError(f"unrecognised timestamp {text!r}")


def unix(moment: datetime) -> float:
    """A naive NAB timestamp read as UTC."""
    return calendar.timegm(moment.timetuple()) + moment.microsecond / 1e6


def read_series(path: Path) -> tuple[list[datetime], list[float]]:
    """Timestamps and values of one NAB CSV (unparseable values become NaN)."""
    times: list[datetime] = []
    values: list[float] = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            times.append(parse_time(row["timestamp"]))
            try:
                values.append(float(row["value"]))
            except (TypeError, ValueError):
                values.append(math.nan)
    return times, values


def windowed_gaussian(values: Sequence[float]) -> list[float]:
    """The reference: ``1 - Q(|x - mean| / std)`` over the previous values (at most 6400, moved by 100)."""
    out: list[float] = []
    window: list[float] = []
    pending: list[float] = []
    mean, std = 0.0, 1.0

    def refresh() -> tuple[float, float]:
        m = sum(window) / len(window)
        sd = math.sqrt(sum((v - m) ** 2 for v in window) / len(window))
        return m, sd if sd > 0 else 1e-6

    total = squares = 0.0
    for x in values:
        if not math.isfinite(x):
            out.append(0.0)
            continue
        out.append(1.0 - 0.5 * math.erfc(abs(x - mean) / std / math.sqrt(2)) if window else 0.0)
        if len(window) < GAUSSIAN_WINDOW:
            window.append(x)
            total += x
            squares += x * x
            n = len(window)
            mean = total / n
            var = max(0.0, squares / n - mean * mean)
            std = math.sqrt(var) if var > 0 else 1e-6
            if n == GAUSSIAN_WINDOW:
                mean, std = refresh()
        else:
            pending.append(x)
            if len(pending) == GAUSSIAN_STEP:
                window = window[GAUSSIAN_STEP:] + pending
                pending = []
                mean, std = refresh()
    return out


ProfileScores = dict[str, dict[str, float | int]]


@dataclass(frozen=True)
class CorpusResult:
    """Both detectors' scores per profile over one corpus, and the run's size and timing."""

    files: int
    points: int
    windows: int
    detector: ProfileScores
    reference: ProfileScores
    detector_seconds: float
    reference_seconds: float
    alarm_points: int
    quiet_points: int
    quiet_alarm_points: int


def score_corpus(data_dir: Path, labels: dict[str, list[list[str]]]) -> CorpusResult:
    """Run both detectors over every labelled file and score them per profile."""
    files = [name for name in sorted(labels) if (data_dir / name).exists()]
    sweeps: dict[str, dict[str, list[SweepPoint]]] = {
        who: {p: [] for p in PROFILES} for who in ("detector", "reference")
    }
    scored_windows: dict[str, list[int]] = {p: [] for p in PROFILES}
    total_windows = points = alarm_points = quiet_points = quiet_alarm_points = 0
    seconds = {"detector": 0.0, "reference": 0.0}
    for name in files:
        times, values = read_series(data_dir / name)
        stamps = [unix(t) for t in times]
        spans = [(unix(parse_time(a)), unix(parse_time(b))) for a, b in labels[name]]
        idx = window_indices(stamps, spans)
        started = time.perf_counter()
        found = score_series(values, stamps)
        seconds["detector"] += time.perf_counter() - started
        detector = [p.score for p in found]
        started = time.perf_counter()
        reference = windowed_gaussian(values)
        seconds["reference"] += time.perf_counter() - started
        points += len(values)
        alarm_points += sum(p.alarm for p in found)
        if not idx:
            quiet_points += len(found)
            quiet_alarm_points += sum(p.alarm for p in found)
        for profile_name, profile in PROFILES.items():
            for who, scores in (("detector", detector), ("reference", reference)):
                swept, windows = sweep_points(scores, idx, profile, first_window=total_windows)
                sweeps[who][profile_name].extend(swept)
            scored_windows[profile_name].extend(windows)
        total_windows += len(idx)
    best: dict[str, ProfileScores] = {}
    for who in ("detector", "reference"):
        best[who] = {}
        for profile_name, profile in PROFILES.items():
            result = best_threshold(sweeps[who][profile_name], scored_windows[profile_name], profile)
            best[who][profile_name] = {
                "score": round(normalised(result.raw, total_windows, profile), 2),
                "threshold": result.threshold,
                "detected_windows": result.detected_windows,
                "fp_points": result.false_positives,
            }
    return CorpusResult(
        len(files),
        points,
        total_windows,
        best["detector"],
        best["reference"],
        seconds["detector"],
        seconds["reference"],
        alarm_points,
        quiet_points,
        quiet_alarm_points,
    )


def generate(out: Path, files: int = 6, points: int = 4000, seed: int = 7) -> Path:
    """Write a small NAB-style corpus (daily-seasonal series, spikes, level shifts, ramps) and its labels."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "synthetic").mkdir(exist_ok=True)
    labels: dict[str, list[list[str]]] = {}
    t0 = datetime(2026, 1, 5)
    for f in range(files):
        base = rng.uniform(20, 500)
        values = [
            base * (1 + 0.3 * math.sin(2 * math.pi * i / 288)) + rng.gauss(0, base * 0.03)
            for i in range(points)
        ]
        windows: list[list[str]] = []
        for at in (int(points * 0.45), int(points * 0.8)):
            kind = (f + at) % 3
            for i in range(at, min(points, at + 30)):
                if kind == 0:
                    values[i] += base * 0.8
                elif kind == 1:
                    values[i] -= base * 0.6
                else:
                    values[i] += base * 0.05 * (i - at)
            width = int(points * 0.1 / 2)
            stamp = [t0 + timedelta(minutes=5 * j) for j in (at - width // 2, at + width // 2)]
            windows.append([s.strftime("%Y-%m-%d %H:%M:%S.%f") for s in stamp])
        name = f"synthetic/series_{f}.csv"
        with (out / name).open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["timestamp", "value"])
            for i, v in enumerate(values):
                writer.writerow([(t0 + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S"), f"{v:.3f}"])
        labels[name] = windows
    path = out / "labels.json"
    path.write_text(json.dumps(labels, indent=1))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("data_dir", type=Path, nargs="?")
    parser.add_argument("labels", type=Path, nargs="?")
    parser.add_argument(
        "--generate", type=Path, help="write a synthetic corpus to this directory and score it"
    )
    args = parser.parse_args()
    if args.generate is not None:
        labels_path = generate(args.generate)
        data_dir = args.generate
    elif args.data_dir is not None and args.labels is not None:
        data_dir, labels_path = args.data_dir, args.labels
    else:
        parser.error("DATA_DIR and LABELS_JSON are required (or --generate DIR)")
    labels = json.loads(labels_path.read_text())
    started = time.perf_counter()
    result = score_corpus(data_dir, labels)
    elapsed = time.perf_counter() - started
    for who, per_profile in (("series detector", result.detector), ("windowed Gaussian", result.reference)):
        print(
            f"{who}: " + ", ".join(f"{p} {v['score']:.1f}" for p, v in per_profile.items()), file=sys.stderr
        )
    figure = float(result.detector["standard"]["score"])
    ceiling = float(result.reference["standard"]["score"])
    print(
        json.dumps(
            {
                "bench": "nab",
                "figure": figure,
                "ceiling": ceiling,
                "ceiling_name": "windowed_gaussian_same_run",
                "ratio": round(figure / ceiling, 4) if ceiling > 0 else None,
                "target": TARGET,
                "target_met": figure >= TARGET,
                "profiles": {p: v["score"] for p, v in result.detector.items()},
                "ceiling_profiles": {p: v["score"] for p, v in result.reference.items()},
                "thresholds": {p: v["threshold"] for p, v in result.detector.items()},
                "detected_windows": {p: v["detected_windows"] for p, v in result.detector.items()},
                "alarm_share": round(result.alarm_points / result.points, 4) if result.points else 0.0,
                "alarm_share_files_without_windows": round(result.quiet_alarm_points / result.quiet_points, 4)
                if result.quiet_points
                else None,
                "files": result.files,
                "points": result.points,
                "windows": result.windows,
                "detector_seconds": round(result.detector_seconds, 2),
                "reference_seconds": round(result.reference_seconds, 2),
                "seconds": round(elapsed, 1),
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "load_average": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Benchmark: the NAB standard-profile score of the dynamic detectors (robust z + EWMA, CUSUM ramp).

Reads every ``*.csv`` under DATA_DIR in the Numenta Anomaly Benchmark's format (a ``timestamp,value``
header, one point per row) and LABELS_JSON mapping a file's path relative to DATA_DIR to its anomaly
windows ``[[start, end], ...]`` (timestamps as in the CSV), like NAB's ``combined_windows.json``. Each
series goes through :func:`postaltop.core.detect.series.detect_series`; the detections are scored with
:mod:`postaltop.core.nab_score` (standard profile A_TP=1, A_FP=0.11, A_FN=1, normalised so that the null
detector scores 0 and the perfect one 100). Like NAB's optimiser, the z threshold is swept and the best
score is reported beside the score at the monitor's default threshold.

    python bench/nab.py DATA_DIR LABELS_JSON
    python bench/nab.py --quick DATA_DIR LABELS_JSON     # default threshold only
    python bench/nab.py --generate DIR                  # write a small synthetic corpus to DIR first
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from memory import peak_rss_mb

from postaltop.core.detect.series import SeriesSettings, detect_series
from postaltop.core.nab_score import STANDARD, normalised, score_file, window_indices

DEFAULT_Z = 5.0
SWEEP = (3.0, 4.0, 5.0, 6.0, 8.0)
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def parse_time(text: str) -> datetime:
    """A NAB timestamp (``2014-04-10 07:15:00`` with optional fractional seconds)."""
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise ValueError(f"unrecognised timestamp {text!r}")


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


def score_corpus(
    data_dir: Path, labels: dict[str, list[list[str]]], z: float
) -> tuple[float, dict[str, int]]:
    """Normalised standard-profile score over every labelled file, plus TP/FP/FN counts."""
    raw = 0.0
    windows = 0
    counts = {"files": 0, "tp": 0, "fp": 0, "fn": 0}
    for name in sorted(labels):
        path = data_dir / name
        if not path.exists():
            continue
        times, values = read_series(path)
        spans = [(parse_time(a), parse_time(b)) for a, b in labels[name]]
        idx = window_indices(times, spans)
        detections = detect_series(values, SeriesSettings(warning_z=z, critical_z=2 * z))
        result = score_file(detections, idx, STANDARD)
        raw += result.raw
        windows += result.windows
        counts["files"] += 1
        counts["tp"] += result.true_positives
        counts["fp"] += result.false_positives
        counts["fn"] += result.false_negatives
    return normalised(raw, windows, STANDARD), counts


def generate(out: Path, files: int = 6, points: int = 2000, seed: int = 7) -> Path:
    """Write a small NAB-style corpus (seasonal series with spikes, level shifts, ramps) and its labels."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
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
            length = 30
            for i in range(at, min(points, at + length)):
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
        (out / "synthetic").mkdir(exist_ok=True)
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, nargs="?")
    parser.add_argument("labels", type=Path, nargs="?")
    parser.add_argument("--quick", action="store_true", help="score the default threshold only")
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
    default, counts = score_corpus(data_dir, labels, DEFAULT_Z)
    print(f"z={DEFAULT_Z:g} (monitor default): score {default:.1f} {counts}")
    best, best_z = default, DEFAULT_Z
    if not args.quick:
        for z in SWEEP:
            if z == DEFAULT_Z:
                continue
            score, c = score_corpus(data_dir, labels, z)
            print(f"z={z:g}: score {score:.1f} {c}")
            if score > best:
                best, best_z = score, z
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "bench": "nab_standard",
                "figure": round(best, 2),
                "target": 100.0,
                "ratio": round(best / 100.0, 4),
                "score_default_z": round(default, 2),
                "best_z": best_z,
                "files": counts["files"],
                "seconds": round(elapsed, 1),
                "peak_rss_mb": round(peak_rss_mb(), 1),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Benchmark: a log review over the demo, as an operator runs it: time and peak memory.

Runs ``python -m postaltop report --demo --since WINDOW`` in a fresh process (the same preparation as
``postaltop review --demo``: simulate the window, ingest every line with facts, alert detection, evidence,
report) and reads its wall time and peak RSS from ``wait4``. The ceiling is the simulator alone over the
same window in a fresh process (generating the fleet's lines and nothing else): no review of the demo can
be faster than producing its input.

``value``: seconds for the review; ``target``: 10 s and 300 MB for ``--since 7d`` (the default window).
Usage: ``python bench/review.py [--since 7d] [--runs N]``; progress on stderr, the last stdout line is the
JSON result.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 10.0
TARGET_MB = 300.0

SIMULATOR_ONLY = """
import sys
from postaltop.commands.report import demo_window
from postaltop.core.review.demo import DEMO_VOLUME, SLICE
from postaltop.core.sim import Fleet
window = demo_window(sys.argv[1], "1d")
fleet = Fleet(seed=1, scenario="brute-force", start=window.start, volume=DEMO_VOLUME)
pos, lines = window.start, 0
while pos < window.end:
    pos = min(window.end, pos + SLICE)
    lines += len(fleet.advance(pos))
print(lines)
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measured(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``argv``; returns (seconds, peak RSS in MB, stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[2:]} failed with exit code {proc.returncode}")
    return elapsed, usage.ru_maxrss / 1024, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", default="7d", help="the review window (default 7d)")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="postaltop-bench-review-") as tmp:
        root = Path(tmp)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "XDG_CONFIG_HOME": str(root / "config"),
            "XDG_DATA_HOME": str(root / "data"),
            "XDG_STATE_HOME": str(root / "state"),
        }
        report = [sys.executable, "-m", "postaltop", "report", "--demo", "--since", args.since]
        report += ["--output", str(root / "report.md")]
        simulator = [sys.executable, "-c", SIMULATOR_ONLY, args.since]
        times, peaks, ceilings, ceiling_peaks = [], [], [], []
        lines = 0
        for run in range(args.runs):
            seconds, peak, _ = measured(report, env)
            times.append(seconds)
            peaks.append(peak)
            c_seconds, c_peak, out = measured(simulator, env)
            ceilings.append(c_seconds)
            ceiling_peaks.append(c_peak)
            lines = int(out.strip() or 0)
            log(
                f"run {run + 1}: report {seconds:.1f}s {peak:.0f} MB; "
                f"simulator alone {c_seconds:.1f}s {c_peak:.0f} MB ({lines:,} lines)"
            )
    value = statistics.median(times)
    ceiling = statistics.median(ceilings)
    peak = max(peaks)
    result = {
        "bench": "review",
        "window": args.since,
        "value": round(value, 2),
        "unit": "s",
        "peak_rss_mb": round(peak, 1),
        "ceiling": round(ceiling, 2),
        "ceiling_peak_rss_mb": round(max(ceiling_peaks), 1),
        "ratio": round(value / ceiling, 3),
        "lines": lines,
        "target": TARGET_S,
        "target_mb": TARGET_MB,
        "meets_target": value <= TARGET_S and peak <= TARGET_MB,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

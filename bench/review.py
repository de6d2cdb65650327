"""Benchmark: a log review over the demo, as an operator runs it: time and peak memory, 1 day and 7 days.

Runs ``python -m postaltop report --demo --since WINDOW`` in a fresh process (the same preparation as
``postaltop review --demo``: render the window with its sampling plan and ingest its lines slice by slice,
alert detection over the span rendered in full, sending volumes from the simulated database's hourly
statistics, evidence, report) and reads its wall time and peak RSS from ``wait4`` (the child's high-water
mark; the bench process it forks from holds ~20 MB), and its CPU time (user + system), which a loaded
machine inflates far less than the wall time. Beside it, in the same run, the simulator alone renders
the same window with the same plan in a fresh process (producing the review's lines and nothing else): the
``reference`` no review of the demo can beat.

The ceilings are the targets: 10 s and 300 MB for ``--since 7d``; ``ratio`` is the 7-day median time over
10 s and ``ratio_mb`` its peak over 300 MB (≤ 1 meets the target). Usage:
``python bench/review.py [--windows 1d,7d] [--runs N]`` (``--quick``: one 2-hour run, for the tests);
progress on stderr, the last stdout line is the JSON result.
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
CEILING_S = 10.0
CEILING_MB = 300.0
TARGET_WINDOW = "7d"

SIMULATOR_ONLY = """
import sys
from postaltop.commands.report import demo_window
from postaltop.core.review.demo import DEMO_VOLUME, slice_end, sampling_for
from postaltop.core.sim import Fleet
window = demo_window(sys.argv[1], "1d")
fleet = Fleet(seed=1, scenario="brute-force", start=window.start, volume=DEMO_VOLUME)
sampling = fleet.sampling = sampling_for(window, fleet)
pos, lines = window.start, 0
while pos < window.end:
    pos = slice_end(pos, window.end, sampling, sampling is None or sampling.in_full(pos))
    lines += len(fleet.advance(pos))
print(lines)
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measured(argv: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """Run ``argv``; returns (wall seconds, CPU seconds, peak RSS in MB, stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[2:]} failed with exit code {proc.returncode}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def run_window(since: str, runs: int, env: dict[str, str], root: Path) -> dict[str, object]:
    """``runs`` reports over the window, each followed by the simulator alone: medians, peaks, ranges."""
    report = [sys.executable, "-m", "postaltop", "report", "--demo", "--since", since]
    report += ["--output", str(root / f"report-{since}.md")]
    simulator = [sys.executable, "-c", SIMULATOR_ONLY, since]
    times, cpus, peaks, refs, loads = [], [], [], [], []
    lines = 0
    for run in range(runs):
        loads.append(os.getloadavg()[0])
        seconds, cpu, peak, _ = measured(report, env)
        ref_seconds, _ref_cpu, _ref_peak, out = measured(simulator, env)
        times.append(seconds)
        cpus.append(cpu)
        peaks.append(peak)
        refs.append(ref_seconds)
        lines = int(out.strip() or 0)
        log(
            f"{since} run {run + 1}: report {seconds:.2f} s ({cpu:.2f} s CPU), {peak:.0f} MB; "
            f"simulator alone {ref_seconds:.2f} s ({lines:,} lines); load {loads[-1]:.2f}"
        )
    return {
        "seconds": round(statistics.median(times), 2),
        "seconds_range": [round(min(times), 2), round(max(times), 2)],
        "cpu_s": round(statistics.median(cpus), 2),
        "cpu_s_range": [round(min(cpus), 2), round(max(cpus), 2)],
        "peak_rss_mb": round(max(peaks), 1),
        "peak_rss_mb_range": [round(min(peaks), 1), round(max(peaks), 1)],
        "reference_simulator_s": round(statistics.median(refs), 2),
        "lines": lines,
        "load": [round(min(loads), 2), round(max(loads), 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", default="1d,7d", help="comma-separated review windows (default 1d,7d)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run over 2 hours (output shape only)")
    args = parser.parse_args()
    windows = ["2h"] if args.quick else [w.strip() for w in args.windows.split(",") if w.strip()]
    runs = 1 if args.quick else args.runs
    with tempfile.TemporaryDirectory(prefix="postaltop-bench-review-") as tmp:
        root = Path(tmp)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "XDG_CONFIG_HOME": str(root / "config"),
            "XDG_DATA_HOME": str(root / "data"),
            "XDG_STATE_HOME": str(root / "state"),
        }
        results = {since: run_window(since, runs, env, root) for since in windows}
    headline = results.get(TARGET_WINDOW) or results[windows[-1]]
    value, peak = float(headline["seconds"]), float(headline["peak_rss_mb"])  # type: ignore[arg-type]
    print(
        json.dumps(
            {
                "bench": "review",
                "window": TARGET_WINDOW if TARGET_WINDOW in results else windows[-1],
                "value": value,
                "unit": "s",
                "peak_rss_mb": peak,
                "ceiling": CEILING_S,
                "ceiling_mb": CEILING_MB,
                "ratio": round(value / CEILING_S, 3),
                "ratio_mb": round(peak / CEILING_MB, 3),
                "runs": runs,
                "windows": results,
                "target": f"<= {CEILING_S:g} s and <= {CEILING_MB:g} MB for --since {TARGET_WINDOW}",
                "meets_target": (value <= CEILING_S and peak <= CEILING_MB)
                if TARGET_WINDOW in results
                else None,
            }
        )
    )


if __name__ == "__main__":
    main()

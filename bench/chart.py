"""Benchmark: one redraw of the send-rate chart (series extraction + plotext build), p99 against 30 ms.

Runs a compromised-credential scenario through the real engine + Monitor (bootstrapped baselines, so the
expected line and band are drawn), then redraws the chart for every window (15m/1h/6h/24h/7d) at a
terminal-sized plot (160x20), timing ``RateChart.redraw()`` plus the plot build that Textual's render does.

    python bench/chart.py            # 7 simulated days of minutes, 400 redraws
    python bench/chart.py --quick    # 15 simulated minutes, 100 redraws

The full run fills every window: 7 days of per-minute series (and their hourly roll-up), simulated
as ``bench/detect.py``'s normal week is (only the lines that raise a fact the detectors read, one poll
per simulated minute), so the 6h/24h/7d windows draw as many points as they will in a week-old session.
The JSON gives, per window, the share of its points that hold data.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import upper_quantile
from memory import peak_rss_mb

from postaltop.core.alerts import Scope, ScopeKind
from postaltop.ui.widgets.rate_chart import MAX_POINTS, WINDOWS, RateChart
from tests.detect.scenario_run import run_scenario

TARGET_MS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run for development")
    parser.add_argument("--minutes", type=float, default=None, help="simulated minutes (default 7 days)")
    args = parser.parse_args()
    minutes, redraws = (15.0, 100) if args.quick else (7 * 24 * 60.0, 400)
    if args.minutes is not None:
        minutes = args.minutes
    started = time.perf_counter()
    if minutes > 120:
        run = run_scenario("compromised-credential", minutes, volume=0.3, poll=60.0, step=60.0, lines="auth")
    else:
        run = run_scenario("compromised-credential", minutes, volume=0.3)
    setup_s = time.perf_counter() - started
    chart = RateChart(run.monitor)
    chart.scope = Scope(ScopeKind.SERVER, "acme/transactional")
    chart.plt.plotsize(160, 20)
    filled: dict[str, float] = {}
    for label, seconds in WINDOWS:
        view = run.monitor.series(chart.scope, "sent", seconds, max_points=MAX_POINTS)
        finite = sum(1 for v in view.values if math.isfinite(v))
        filled[label] = round(finite / max(1, len(view.values)), 3)
    print(f"points holding data per window: {filled}")
    times: list[float] = []
    cpu: list[float] = []
    for i in range(redraws):
        chart.window_index = i % len(WINDOWS)
        t0, c0 = time.perf_counter(), time.process_time()
        chart.redraw()
        chart.plt.plotsize(160, 20)  # what PlotextPlot.render does before building
        chart.plt.build()
        cpu.append((time.process_time() - c0) * 1000)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    cpu.sort()
    p50 = statistics.median(times)
    p99 = upper_quantile(times, 0.99)
    cpu_p99 = upper_quantile(cpu, 0.99)
    load = os.getloadavg()[0]
    print(f"simulated {minutes} min in {setup_s:.1f}s; {redraws} redraws over {len(WINDOWS)} windows")
    print(
        f"redraw wall p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {times[-1]:.2f} ms "
        f"(target p99 <= {TARGET_MS} ms)"
    )
    print(f"redraw CPU p50 {statistics.median(cpu):.2f} ms, p99 {cpu_p99:.2f} ms; load average {load:.1f}")
    print(
        json.dumps(
            {
                "bench": "chart_redraw",
                "figure": round(p99, 3),
                "unit": "ms p99",
                "p50_ms": round(p50, 3),
                "cpu_p99_ms": round(cpu_p99, 3),
                "loadavg": round(load, 2),
                "target": TARGET_MS,
                "ratio": round(p99 / TARGET_MS, 3),
                "redraws": redraws,
                "quick": args.quick,
                "simulated_minutes": minutes,
                "window_points_filled": filled,
                "peak_rss_mb": round(peak_rss_mb(), 1),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Benchmark: one redraw of the send-rate chart (series extraction + plotext build), p99 against 30 ms.

Runs a compromised-credential scenario through the real engine + Monitor (bootstrapped baselines, so the
expected line and band are drawn), then redraws the chart for every window (15m/1h/6h/24h/7d) at a
terminal-sized plot (160x20), timing ``RateChart.redraw()`` plus the plot build that Textual's render does.

    python bench/chart.py            # 60 simulated minutes, 400 redraws
    python bench/chart.py --quick    # 15 simulated minutes, 100 redraws
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from postaltop.core.alerts import Scope, ScopeKind
from postaltop.ui.widgets.rate_chart import WINDOWS, RateChart
from tests.detect.scenario_run import run_scenario

TARGET_MS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run for development")
    args = parser.parse_args()
    minutes, redraws = (15, 100) if args.quick else (60, 400)
    started = time.perf_counter()
    run = run_scenario("compromised-credential", minutes, volume=0.3)
    setup_s = time.perf_counter() - started
    chart = RateChart(run.monitor)
    chart.scope = Scope(ScopeKind.SERVER, "acme/transactional")
    chart.plt.plotsize(160, 20)
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
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    cpu_p99 = cpu[min(len(cpu) - 1, int(len(cpu) * 0.99))]
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
            }
        )
    )


if __name__ == "__main__":
    main()

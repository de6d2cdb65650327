"""Charts as text: a sparkline row with its scale, for the screens and the reports."""

from __future__ import annotations

from postaltop.core.review.model import Chart
from postaltop.core.review.window import fmt_time

BARS = " ▁▂▃▄▅▆▇█"


def sparkline(values: tuple[int, ...] | list[int]) -> str:
    """One character per value, scaled to the largest (zero is a blank, any non-zero at least ▁)."""
    top = max(values, default=0)
    if top <= 0:
        return " " * len(values)
    out = []
    for v in values:
        if v <= 0:
            out.append(BARS[0])
        else:
            out.append(BARS[max(1, round(v / top * (len(BARS) - 1)))])
    return "".join(out)


def render_chart(chart: Chart) -> list[str]:
    """Three lines: title with the peak, the sparkline, and the time axis ends."""
    values = chart.values
    peak = max(values, default=0)
    total = sum(values)
    hours = chart.bucket_seconds / 3600
    unit = f"{hours:g}h" if hours >= 1 else f"{chart.bucket_seconds / 60:g}m"
    start = fmt_time(chart.start)
    end = fmt_time(chart.start + chart.bucket_seconds * len(values))
    line = sparkline(values)
    return [
        f"{chart.title} — total {total:,}, peak {peak:,} per {unit}",
        f"|{line}|",
        f" {start}{' ' * max(1, len(line) - len(start) - len(end))}{end}",
    ]

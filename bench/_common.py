"""Percentiles the benchmarks share (imported as ``_common`` beside ``memory``: benches run from bench/)."""

from __future__ import annotations

import math


def upper_quantile(values: list[float], q: float) -> float:
    """The value at rank ``int(n * q)`` of the sorted values (clamped to the last; NaN for none).

    ``upper_quantile(lags, 0.99)`` is the p99 the UI, chart and fleet benches report.
    """
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank ``pct`` percentile (rank ``round(pct / 100 * (n - 1))``; NaN for none): the database,
    soak and first-paint benches'."""
    if not values:
        return math.nan
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]

"""The short-term baseline of a scope without history: its own recent normal minutes.

A scope with no hour-of-week (or hour-of-day) baseline yet — a credential first seen live, a fresh install —
is compared with the median and spread of its own last ``RECENT_MINUTES`` minutes. Minutes a detector
flagged are left out, looking further back instead: otherwise an incident that goes on fills the "recent
past" with itself within half an hour and its alert resolves while the incident continues.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from statistics import median

from postaltop.core.baseline import MAD_TO_SIGMA, Expectation

RECENT_MINUTES = 60
"""Normal minutes the short-term baseline is made of."""
RECENT_MIN_POINTS = 8
"""Fewest normal minutes for a short-term baseline at all."""
SPREAD_FLOOR_RATIO = 0.2
SPREAD_FLOOR_ABS = 1.0


def recent_expectation(
    value_at: Callable[[int], float], last: int, oldest: int, flagged: Collection[int]
) -> Expectation | None:
    """Median and spread of the hour of minutes before ``last - 1``, flagged minutes replaced by older ones.

    ``value_at(minute)`` is NaN where there is no data; minutes older than ``oldest`` are not kept. None
    when fewer than ``RECENT_MIN_POINTS`` such minutes exist.
    """
    recent: list[float] = []
    # the hour before the current minute, extended one minute further back for every flagged one skipped
    first = last - RECENT_MINUTES
    minute = last - 2
    while minute >= max(first, oldest):
        if minute in flagged:
            first -= 1
        else:
            value = value_at(minute)
            if math.isfinite(value):
                recent.append(value)
        minute -= 1
    if len(recent) < RECENT_MIN_POINTS:
        return None
    med = median(recent)
    mad = median([abs(v - med) for v in recent])
    spread = max(mad * MAD_TO_SIGMA, med * SPREAD_FLOOR_RATIO, SPREAD_FLOOR_ABS)
    return Expectation(med, spread, len(recent), False)

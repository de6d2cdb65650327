"""Arrival rates of the simulated fleet: a base rate shaped by hour of day and day of week (UTC).

Message submissions are a non-homogeneous Poisson process. :func:`next_arrival` draws the next
arrival exactly for a rate that is constant over ``horizon`` seconds: if no arrival falls in the
horizon, the caller re-checks at its end with the new rate (memorylessness makes this exact for a
piecewise-constant rate), so a rate that rises at 07:00 is noticed within ``horizon`` seconds.
"""

from __future__ import annotations

import math
import random

BASE_RATE = 7.0
"""Fleet-wide outgoing messages per second at the busiest weekday hour (daily mean ~4.3/s)."""

HOURLY_SHAPE: tuple[float, ...] = (
    0.22, 0.17, 0.14, 0.13, 0.14, 0.20, 0.35, 0.60, 0.85, 1.00, 1.05, 1.05,
    1.00, 1.02, 1.05, 1.00, 0.95, 0.85, 0.72, 0.60, 0.50, 0.42, 0.34, 0.27,
)  # fmt: skip
"""Relative volume at the start of each UTC hour; values in between are interpolated linearly."""

WEEKDAY_SHAPE: tuple[float, ...] = (1.0, 1.02, 1.02, 1.0, 0.95, 0.55, 0.45)
"""Relative volume Monday..Sunday: weekends are quieter."""

CAMPAIGN_SENDS: tuple[tuple[float, float, float], ...] = ((9.3, 0.35, 2.0), (15.2, 0.3, 1.5))
"""Newsletter bursts on weekdays as (UTC hour of the peak, width in hours, height)."""

TRANSACTIONS_PER_SESSION: tuple[tuple[int, float], ...] = ((1, 0.7), (2, 0.2), (3, 0.1))
RECIPIENTS_PER_MESSAGE: tuple[tuple[int, float], ...] = ((1, 0.85), (2, 0.1), (3, 0.05))
MESSAGES_PER_SUBMISSION = sum(n * p for n, p in TRANSACTIONS_PER_SESSION) * sum(
    n * p for n, p in RECIPIENTS_PER_MESSAGE
)
"""Mean message rows created by one SMTP session or API call (one row per recipient)."""


def weekday(ts: float) -> int:
    """Day of week of a UNIX time in UTC, Monday = 0 (1970-01-01 was a Thursday)."""
    return (int(ts // 86400) + 3) % 7


def hour_of_day(ts: float) -> float:
    """Fractional UTC hour of a UNIX time, 0 <= h < 24."""
    return (ts % 86400) / 3600.0


def day_factor(ts: float) -> float:
    """Hour-of-day volume factor (interpolated :data:`HOURLY_SHAPE`)."""
    hour = hour_of_day(ts)
    low = int(hour)
    frac = hour - low
    return HOURLY_SHAPE[low] * (1.0 - frac) + HOURLY_SHAPE[(low + 1) % 24] * frac


def week_factor(ts: float) -> float:
    """Day-of-week volume factor."""
    return WEEKDAY_SHAPE[weekday(ts)]


def campaign_factor(ts: float) -> float:
    """Volume factor of a newsletter server: a low trickle plus bursts at send times on weekdays."""
    factor = 0.25 * day_factor(ts)
    if weekday(ts) < 5:
        hour = hour_of_day(ts)
        for peak, width, height in CAMPAIGN_SENDS:
            factor += height * math.exp(-(((hour - peak) / width) ** 2))
    return factor


def seasonality(ts: float, profile: str) -> float:
    """Combined volume factor for a traffic ``profile`` (``transactional`` or ``campaign``)."""
    if profile == "campaign":
        return campaign_factor(ts) * (0.4 if weekday(ts) >= 5 else 1.0)
    return day_factor(ts) * week_factor(ts)


def message_rate(ts: float, share: float, profile: str, volume: float = 1.0) -> float:
    """Outgoing messages per second for a server with ``share`` of the fleet's base rate."""
    return BASE_RATE * share * volume * seasonality(ts, profile)


def next_arrival(rng: random.Random, now: float, rate: float, horizon: float = 30.0) -> tuple[float, bool]:
    """Draw the next event of a Poisson process whose rate is ``rate`` until ``now + horizon``.

    Returns:
        ``(time, True)`` for an arrival, or ``(now + horizon, False)`` when none falls within the
        horizon (the caller re-draws from there with the rate in force then).
    """
    if rate <= 0.0:
        return now + horizon, False
    gap = rng.expovariate(rate)
    if gap > horizon:
        return now + horizon, False
    return now + gap, True


def pick_count(rng: random.Random, table: tuple[tuple[int, float], ...]) -> int:
    """Draw a small count from a ``(value, probability)`` table."""
    roll = rng.random()
    for value, prob in table:
        roll -= prob
        if roll < 0.0:
            return value
    return table[-1][0]

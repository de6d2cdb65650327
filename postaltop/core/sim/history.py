"""The simulated databases' statistics: ``stats_hourly``/``stats_daily`` rows of the simulated fleet.

:func:`synthetic_history` produces the rows of the weeks before the simulation from the traffic model's
seasonality (with deterministic noise), and uses the fleet's own counters for the hours the simulation has
run, so baselines can be bootstrapped in the demo.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from typing import TYPE_CHECKING

from postaltop.core import dbmetrics as dm
from postaltop.core.sim.counting import server_total
from postaltop.core.sim.model import MailServer
from postaltop.core.sim.traffic import message_rate
from postaltop.core.sim.worker import BOUNCE_RATE

if TYPE_CHECKING:
    from postaltop.core.sim.fleet import Fleet


def expected_outgoing(
    server: MailServer, start: float, seconds: float, volume: float, steps: int = 12
) -> float:
    """Mean outgoing messages of ``server`` over ``[start, start + seconds)`` (midpoint rule)."""
    step = seconds / steps
    return (
        sum(
            message_rate(start + (i + 0.5) * step, server.share, server.profile, volume) for i in range(steps)
        )
        * step
    )


def _noisy(rng: random.Random, mean: float) -> int:
    """A count around ``mean`` with Poisson-like spread (normal approximation), never negative."""
    if mean <= 0:
        return 0
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


def _synth_point(
    rng: random.Random, server: MailServer, granularity: str, start: int, seconds: int, volume: float
) -> dm.HistoryPoint:
    outgoing = _noisy(
        rng, expected_outgoing(server, start, seconds, volume, steps=12 if seconds <= 3600 else 48)
    )
    bounces = _noisy(rng, outgoing * BOUNCE_RATE)
    held = outgoing if server.mode == "Development" else 0
    return dm.HistoryPoint(server.id, granularity, start, bounces, outgoing, 0, bounces, held)


def _counted_point(
    fleet: Fleet, server: MailServer, granularity: str, start: int, seconds: int
) -> dm.HistoryPoint:
    counters = fleet.counters
    end = start + seconds

    def total(metric: str) -> int:
        return server_total(counters, server.id, metric, start, end)

    return dm.HistoryPoint(
        server.id,
        granularity,
        start,
        total("incoming"),
        total("outgoing"),
        0,
        total("bounced"),
        total("held"),
    )


def synthetic_history(fleet: Fleet, now: float, weeks: int = 4) -> list[dm.HistoryPoint]:
    """Hourly and daily statistics of every simulated server for the ``weeks`` weeks before ``now``.

    Periods that end before the simulation started are synthesised from the traffic model (same seed,
    same figures); periods the simulation covered are summed from the fleet's counters (a period that
    straddles the start gets the synthesised part before it plus the counted part after).
    Ordered by server, then granularity (hour before day), then time.
    """
    since = int(now) - weeks * 7 * 86400
    points: list[dm.HistoryPoint] = []
    for server in fleet.installation.servers:
        for granularity, seconds in (("hour", 3600), ("day", 86400)):
            rng = random.Random(f"postaltop-history-{fleet.seed}-{server.id}-{granularity}")
            start = since - since % seconds
            while start <= now:
                points.append(_history_point(fleet, rng, server, granularity, start, seconds))
                start += seconds
    return points


def _history_point(
    fleet: Fleet, rng: random.Random, server: MailServer, granularity: str, start: int, seconds: int
) -> dm.HistoryPoint:
    sim_start = fleet.start
    if start + seconds <= sim_start:
        return _synth_point(rng, server, granularity, start, seconds, fleet.volume)
    counted = _counted_point(fleet, server, granularity, start, seconds)
    if start >= sim_start:
        return counted
    # Straddles the start: the model before it, the counters after it.
    before = _synth_point(rng, server, granularity, start, int(sim_start) - start, fleet.volume)
    return dm.HistoryPoint(
        server.id,
        granularity,
        start,
        before.incoming + counted.incoming,
        before.outgoing + counted.outgoing,
        0,
        before.bounces + counted.bounces,
        before.held + counted.held,
    )


def history_totals(points: Iterable[dm.HistoryPoint], server_id: int, granularity: str) -> int:
    """Outgoing messages summed over ``points`` of one server and granularity (tests, summaries)."""
    return sum(p.outgoing for p in points if p.server_id == server_id and p.granularity == granularity)

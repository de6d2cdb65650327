"""The simulated databases' statistics: ``stats_hourly``/``stats_daily`` rows of the simulated fleet.

:func:`synthetic_history` produces the rows of the weeks before the simulation from the traffic model's
seasonality (with deterministic noise), and uses the fleet's own counters for the hours the simulation has
run, so baselines can be bootstrapped in the demo. :func:`window_history` gives the rows of a review window
rendered with a :class:`~postaltop.core.sim.sampling.Sampling` plan.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from typing import TYPE_CHECKING

from postaltop.core import dbmetrics as dm
from postaltop.core.sim.counting import server_total
from postaltop.core.sim.model import MailServer
from postaltop.core.sim.sampling import Sampling
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


def scenario_outgoing(
    fleet: Fleet, server: MailServer, start: float, seconds: float, steps: int = 12
) -> float:
    """Mean outgoing messages of ``server`` over ``[start, start + seconds)`` with the running scenario's
    volume factor (midpoint rule): what the fleet submits there when nothing is thinned."""
    step = seconds / steps
    total = 0.0
    for i in range(steps):
        ts = start + (i + 0.5) * step
        rate = message_rate(ts, server.share, server.profile, fleet.volume)
        total += rate * fleet.scenario.volume_factor(server, ts)
    return total * step


def window_history(fleet: Fleet, start: float, end: float, counted: Sampling) -> list[dm.HistoryPoint]:
    """The simulated database's ``stats_hourly`` rows of ``[start, end)``, every hour of every server.

    Hours rendered in full (``counted.full``) are summed from the fleet's counters, like
    :func:`synthetic_history` does for the hours the simulation ran; the others, where the fleet rendered a
    thin sample of its traffic, come from the traffic model with the scenario's volume factor and bounce
    rate (deterministic noise), the figures the full simulation would have counted on average.
    """
    points: list[dm.HistoryPoint] = []
    first = int(start - start % 3600)
    for server in fleet.installation.servers:
        rng = random.Random(f"postaltop-window-{fleet.seed}-{server.id}")
        for hour in range(first, math.ceil(end), 3600):
            if counted.in_full(hour) and counted.in_full(hour + 3599):
                points.append(_counted_point(fleet, server, "hour", hour, 3600))
                continue
            outgoing = _noisy(rng, scenario_outgoing(fleet, server, hour, 3600))
            rate = fleet.scenario.bounce_rate(server, hour + 1800, BOUNCE_RATE)
            bounces = _noisy(rng, outgoing * rate)
            held = outgoing if server.mode == "Development" else 0
            points.append(dm.HistoryPoint(server.id, "hour", hour, bounces, outgoing, 0, bounces, held))
    return points

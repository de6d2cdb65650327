"""Rendering a long simulated window cheaply: the incident in full, a thin sample of normal traffic elsewhere.

A week of the demo fleet is millions of lines; a review of it needs the volumes (which a real installation
gives as ``stats_hourly`` aggregates, see :func:`~postaltop.core.sim.history.window_history`) and a
representative sample of lines, not every line. A :class:`Sampling` plan says which spans are rendered in
full (the scenario's incident and the hour after it, on whole hours) and thins the normal submissions and
the admin web requests everywhere else to one in :attr:`Sampling.one_in` (at most :attr:`Sampling.cap`
arrivals per second per process). The scenario's own actions (an attacker's connections, a spammer's
sessions), the scheduled tasks and the Internet's password guesses are never thinned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HOUR = 3600.0

COARSE_HORIZON = 600.0
"""Longest look-ahead of a thinned arrival process (its rate is re-read at least this often)."""

Span = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Sampling:
    """Which spans of a window are rendered in full, and how thinly the rest is.

    Args:
        full: ``[start, end)`` spans rendered in full, in time order.
        one_in: outside them, one arrival in this many is rendered.
        cap: outside them, at most this many arrivals per second per process (a ramping server's last
            days would otherwise still render thousands of lines an hour).
    """

    full: tuple[Span, ...] = ()
    one_in: int = 60
    cap: float = 0.004

    def in_full(self, ts: float) -> bool:
        """True when ``ts`` lies in a span rendered in full."""
        return any(start <= ts < end for start, end in self.full)

    def rate(self, ts: float, rate: float) -> float:
        """The arrival rate actually rendered at ``ts`` for a process whose real rate is ``rate``."""
        if self.in_full(ts):
            return rate
        return min(rate / self.one_in, self.cap)

    def horizon(self, ts: float, default: float = 30.0) -> float:
        """How far ahead a thinned process may draw its next arrival at ``ts``: ``default`` where rendered
        in full, else up to :data:`COARSE_HORIZON` (the hourly shape changes slowly), never far past the
        start of a span rendered in full."""
        if self.in_full(ts):
            return default
        ahead = min((start - ts for start, _ in self.full if start > ts), default=COARSE_HORIZON)
        return max(default, min(COARSE_HORIZON, ahead))

    def full_seconds(self) -> float:
        """Seconds rendered in full."""
        return sum(end - start for start, end in self.full)


def plan(window_start: float, window_end: float, incident: Span | None, *, tail: float = 900.0) -> Sampling:
    """The plan of a window: the incident (plus ``tail`` for its late bounces and retries) in full, on whole
    hours and clipped to the window; no full span when the scenario has no bounded incident."""
    if incident is None:
        return Sampling()
    start = max(window_start, math.floor(incident[0] / HOUR) * HOUR)
    end = min(window_end, math.ceil((incident[1] + tail) / HOUR) * HOUR)
    return Sampling(((start, end),) if start < end else ())

"""Reading the simulated fleet's per-minute counters: sums over minutes, per-(credential, domain) tallies."""

from __future__ import annotations

import math
from collections.abc import Iterator

from postaltop.core import dbmetrics as dm
from postaltop.core.sim.model import Counters, MinuteCounters


def buckets(counters: Counters, start: float, end: float) -> Iterator[MinuteCounters]:
    """The buckets of minutes starting in ``[start, end)``, by direct lookup.

    The counters keep days of minutes; scanning all of them at every poll made a simulated week
    quadratic. Keys are inserted in (nearly) time order, so the first is the oldest and nothing lies
    more than an hour past the last.
    """
    minutes = counters.minutes
    if not minutes:
        return
    oldest = next(iter(minutes))
    newest = next(reversed(minutes)) + 3600
    lo = oldest if start == -math.inf else max(oldest, math.ceil(start / 60.0) * 60)
    hi = newest if end == math.inf else min(newest, math.ceil(end / 60.0) * 60)
    for minute in range(int(lo), int(hi), 60):
        bucket = minutes.get(minute)
        if bucket is not None:
            yield bucket


def server_total(counters: Counters, server_id: int, metric: str, start: float, end: float) -> int:
    """Sum ``metric`` for one server over the minutes starting in ``[start, end)`` (direct lookups)."""
    total = 0
    for bucket in buckets(counters, start, end):
        tally = bucket.servers.get(server_id)
        if tally is not None:
            total += getattr(tally, metric)
    return total


class CredentialDomainCounters(Counters):
    """The fleet's counters plus outgoing messages per (credential, recipient domain) and minute.

    :class:`Counters` keeps credentials and domains apart; the novelty detector needs them together.
    :class:`SimMetrics` swaps this in for the fleet's counters (same figures, one more tally), and each
    poll drains the minutes it reports.
    """

    __slots__ = ("by_credential_domain",)

    def __init__(self, base: Counters) -> None:
        super().__init__(base.retention)
        self.minutes = base.minutes
        self.by_credential_domain: dict[int, dict[tuple[int, int, str], int]] = {}

    def add(
        self, ts: float, metric: str, server_id: int, credential_id: int | None, domain: str | None
    ) -> None:
        """Count as :meth:`Counters.add` does; outgoing messages also per (credential, domain)."""
        super().add(ts, metric, server_id, credential_id, domain)
        if metric == "outgoing" and credential_id is not None and domain:
            bucket = self.by_credential_domain.setdefault(int(ts // 60) * 60, {})
            key = (credential_id, server_id, domain.lower())
            bucket[key] = bucket.get(key, 0) + 1

    def drain(self, before: float) -> dict[tuple[int, int, str], int]:
        """Remove and sum the (credential, server, domain) counts of minutes starting before ``before``."""
        out: dict[tuple[int, int, str], int] = {}
        for minute in [m for m in self.by_credential_domain if m < before]:
            for key, count in self.by_credential_domain.pop(minute).items():
                out[key] = out.get(key, 0) + count
        return out


def credential_domain_samples(
    counts: dict[tuple[int, int, str], int], limit: int = dm.MAX_DOMAINS_PER_CREDENTIAL
) -> tuple[dm.CredentialDomainSample, ...]:
    """Drained counts as poll samples (busiest ``limit`` domains per credential, stable order)."""
    rows = [("outgoing", cred, domain, count, sid) for (cred, sid, domain), count in counts.items()]
    out: list[dm.CredentialDomainSample] = []
    for sid in sorted({r[4] for r in rows}):
        out.extend(dm.credential_domains(sid, [r[:4] for r in rows if r[4] == sid], limit))
    return tuple(out)

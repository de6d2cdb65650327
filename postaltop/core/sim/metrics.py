"""Database-style metrics of the simulated fleet: the demo's stand-in for polling Postal's MariaDB.

:class:`SimMetrics` turns the fleet's per-minute :class:`~postaltop.core.sim.model.Counters` into the
same :class:`~postaltop.core.dbmetrics.PollResult` the database source produces, so everything that
consumes metrics (servers table, detection, headless watch) runs unchanged in the demo.

Windows are exact: the metrics keep running totals of everything the fleet counted; a poll's window
counts are the totals now minus the totals at the previous poll. Minutes that can no longer change
(well behind the simulation's position) are folded into a base so a poll only re-reads a few minutes.

The counters' readers are in :mod:`.counting`; the simulated ``stats_hourly``/``stats_daily`` rows
(:func:`synthetic_history`) in :mod:`.history`. Both are re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from postaltop.core import dbmetrics as dm
from postaltop.core.connect_state import ConnectRequest, ConnectState, CredentialInfo
from postaltop.core.sim.counting import (
    CredentialDomainCounters,
    buckets,
    credential_domain_samples,
    server_total,
)
from postaltop.core.sim.history import (
    expected_outgoing,
    history_totals,
    synthetic_history,
)
from postaltop.core.sim.model import TALLY_FIELDS, MailServer, MinuteCounters, Tally

if TYPE_CHECKING:
    from postaltop.core.sim.fleet import Fleet

MESSAGE_DB_PREFIX = "postal"
"""Postal's default message-database prefix (the simulated databases are named like real ones)."""

_INDEX = {name: i for i, name in enumerate(TALLY_FIELDS)}
_SETTLE_SECONDS = 120.0
"""Minutes that ended this long before the simulation's position no longer change."""

Totals = list[int]

__all__ = [
    "MESSAGE_DB_PREFIX",
    "CredentialDomainCounters",
    "SimMetrics",
    "connect_state",
    "credential_domain_samples",
    "expected_outgoing",
    "history_totals",
    "queue_depth",
    "ready_queue",
    "server_info",
    "server_total",
    "synthetic_history",
    "window_counts",
]


def _zero() -> Totals:
    return [0] * len(TALLY_FIELDS)


def _add(into: Totals, tally: Tally) -> None:
    for i, name in enumerate(TALLY_FIELDS):
        into[i] += getattr(tally, name)


def _get(totals: Totals | None, metric: str) -> int:
    return 0 if totals is None else totals[_INDEX[metric]]


@dataclass(slots=True)
class _Snapshot:
    servers: dict[int, Totals]
    credentials: dict[int, Totals]
    domains: dict[tuple[int, str], Totals]


def _fold(snapshot: _Snapshot, bucket: MinuteCounters) -> None:
    for sid, tally in bucket.servers.items():
        _add(snapshot.servers.setdefault(sid, _zero()), tally)
    for cid, tally in bucket.credentials.items():
        _add(snapshot.credentials.setdefault(cid, _zero()), tally)
    for key, tally in bucket.domains.items():
        _add(snapshot.domains.setdefault(key, _zero()), tally)


def _copy(snapshot: _Snapshot) -> _Snapshot:
    return _Snapshot(
        {k: list(v) for k, v in snapshot.servers.items()},
        {k: list(v) for k, v in snapshot.credentials.items()},
        {k: list(v) for k, v in snapshot.domains.items()},
    )


def _minus(now: Totals | None, before: Totals | None) -> Totals:
    a = now or _zero()
    b = before or _zero()
    return [x - y for x, y in zip(a, b, strict=True)]


def connect_state(fleet: Fleet, request: ConnectRequest) -> ConnectState:
    """What the simulated database answers to the state-at-connect request (a real one: ``PostalDbSource``).

    Its statistics are :func:`synthetic_history` up to ``request.until``; its message history before the
    simulation is the traffic model's: every credential mailed the installation's usual recipient domains
    (so those are what a history query returns for the window before the backfill). The recent past itself
    arrives as the demo's first poll results, one per minute since the simulation started
    (:meth:`SimMetrics.catch_up`), so the answer has no separate backfill.
    """
    names = [d.name for d in fleet.installation.domains if d.weight > 0]
    before_sim = request.start < fleet.start
    credentials = tuple(
        CredentialInfo(c.id, s.id, c.name, c.type) for s in fleet.installation.servers for c in s.credentials
    )
    known = tuple((c.id, d) for c in credentials for d in names) if before_sim else ()
    return ConnectState(
        history=tuple(synthetic_history(fleet, request.until, request.history_weeks)),
        credential_domains=known,
        credential_since=request.credential_since,
        credentials=credentials,
    )


def server_info(server: MailServer, prefix: str = MESSAGE_DB_PREFIX) -> dm.ServerInfo:
    """The :class:`~postaltop.core.dbmetrics.ServerInfo` discovery would return for a simulated server."""
    suspended, reason = dm.effective_suspension(
        server.suspended,
        "Suspended in the demo" if server.suspended else None,
        server.organization.suspended,
        "Organization suspended in the demo" if server.organization.suspended else None,
    )
    return dm.ServerInfo(
        id=server.id,
        org_permalink=server.organization.permalink,
        permalink=server.permalink,
        name=server.name,
        mode=server.mode,
        suspended=suspended,
        suspension_reason=reason,
        send_limit=server.send_limit,
        message_db=f"{prefix}-server-{server.id}",
    )


def window_counts(delta: Totals) -> dm.WindowCounts:
    """Fleet tallies of one window as the database source's :class:`~postaltop.core.dbmetrics.WindowCounts`.

    The simulation has no spam inspection, so ``spam`` is always 0.
    """
    return dm.WindowCounts(
        outgoing=_get(delta, "outgoing"),
        incoming=_get(delta, "incoming"),
        sent=_get(delta, "sent"),
        soft_fail=_get(delta, "soft_failed"),
        hard_fail=_get(delta, "hard_failed"),
        held=_get(delta, "held"),
        bounced=_get(delta, "bounced"),
        spam=0,
    )


def queue_depth(totals: Totals | None) -> int:
    """Rows the server's ``queued_messages`` holds, from running totals.

    Every created message (outgoing or incoming) enters the queue; a delivery Sent, Held or HardFail,
    or a processed bounce (counted ``bounced``), removes it. SoftFail requeues it, so it stays.
    """
    created = _get(totals, "outgoing") + _get(totals, "incoming")
    done = _get(totals, "sent") + _get(totals, "held") + _get(totals, "hard_failed") + _get(totals, "bounced")
    return max(0, created - done)


class SimMetrics:
    """Produces poll results from a fleet's counters, with exact windows between polls.

    Args:
        fleet: the simulation (read only: counters, installation, worker queue).
        top_domains: recipient domains reported per server.
        prefix: message-database prefix used in the server infos.
    """

    def __init__(self, fleet: Fleet, *, top_domains: int = 10, prefix: str = MESSAGE_DB_PREFIX) -> None:
        self.fleet = fleet
        self.top_domains = top_domains
        self.prefix = prefix
        self._base = _Snapshot({}, {}, {})
        self._folded_until = -math.inf
        """Every bucket whose minute is before this is in ``_base``."""
        self._previous: _Snapshot | None = None
        self._previous_at = fleet.start
        counters = fleet.counters
        if not isinstance(counters, CredentialDomainCounters):
            counters = fleet.counters = CredentialDomainCounters(counters)
        self._counters = counters

    @property
    def last_poll_at(self) -> float:
        """Simulated time of the previous poll (the fleet's start before the first one)."""
        return self._previous_at

    def totals(self, now: float, upto: float | None = None) -> _Snapshot:
        """Running totals of what the fleet counted: everything, or the minutes that start before ``upto``.

        ``now`` (with the fleet's position) only decides which minutes are settled and can be folded.
        """
        counters = self.fleet.counters
        settle = math.floor((min(now, self.fleet.position) - _SETTLE_SECONDS) / 60.0) * 60.0
        if upto is not None:
            settle = min(settle, upto)
        if settle > self._folded_until:
            for bucket in buckets(counters, self._folded_until, settle):
                _fold(self._base, bucket)
            self._folded_until = settle
        current = _copy(self._base)
        for bucket in buckets(counters, self._folded_until, math.inf if upto is None else upto):
            _fold(current, bucket)
        return current

    def catch_up(self, now: float) -> list[dm.PollResult]:
        """One result per whole minute between the previous poll and ``now`` (the demo's backfill).

        Each result's window ends at a minute boundary and counts exactly the fleet's minutes in it, so
        the metrics history starts where the logs do. Call before the first :meth:`poll` only (the
        windows of a live poll include the current, unfinished minute).
        """
        results: list[dm.PollResult] = []
        boundary = math.floor(self._previous_at / 60.0) * 60.0 + 60.0
        while boundary <= now:
            results.append(self._result(boundary, self.totals(boundary, upto=boundary), live=False))
            boundary += 60.0
        return results

    def poll(self, now: float, *, started_at: float | None = None, duration: float = 0.0) -> dm.PollResult:
        """One poll cycle at simulated time ``now``: the window is ``(previous poll, now]``.

        Args:
            now: simulated time; the fleet should have been advanced to it.
            started_at: the result's ``started_at`` (defaults to ``now``).
            duration: the result's ``duration``.
        """
        return self._result(now, self.totals(now), live=True, started_at=started_at, duration=duration)

    def _result(
        self,
        now: float,
        current: _Snapshot,
        *,
        live: bool,
        started_at: float | None = None,
        duration: float = 0.0,
    ) -> dm.PollResult:
        fleet = self.fleet
        previous = self._previous or _Snapshot({}, {}, {})
        window = max(0.0, now - self._previous_at)
        ready = ready_queue(fleet) if live else {}
        samples: list[dm.ServerSample] = []
        credentials: list[dm.CredentialSample] = []
        domains: list[dm.DomainSample] = []
        for server in fleet.installation.servers:
            waiting = ready.get(server.id, [])
            samples.append(self._sample(server, now, window, current, previous, waiting, live))
            credentials.extend(_credential_samples(server, current, previous, window))
            domains.extend(self._domain_samples(server.id, current, previous, window))
        credentials.sort(key=lambda c: (c.server_id, -c.count, c.credential_id))
        cred_domains = credential_domain_samples(self._counters.drain(math.inf if live else now))
        self._previous = current
        self._previous_at = now
        return dm.PollResult(
            started_at=now if started_at is None else started_at,
            duration=duration,
            connected=True,
            status="ok (simulated)",
            servers=tuple(server_info(s, self.prefix) for s in fleet.installation.servers),
            samples=tuple(samples),
            credentials=tuple(credentials),
            domains=tuple(domains),
            credential_domains=cred_domains,
        )

    def _sample(
        self,
        server: MailServer,
        now: float,
        window: float,
        current: _Snapshot,
        previous: _Snapshot,
        waiting: list[float],
        live: bool,
    ) -> dm.ServerSample:
        """One server's sample: the window's counts, its queue and the last hour's volume."""
        sid = server.id
        counters = self.fleet.counters
        delta = _minus(current.servers.get(sid), previous.servers.get(sid))
        depth = max(queue_depth(current.servers.get(sid)), len(waiting))
        hour_start = dm.live_stats_threshold(now)
        hour_end = math.inf if live else now
        last_hour = server_total(counters, sid, "processed", hour_start, hour_end)
        return dm.ServerSample(
            server_id=sid,
            sampled_at=now,
            window_seconds=window,
            counts=window_counts(delta),
            queue_depth=depth,
            queue_ready=len(waiting),
            queue_retrying=max(0, depth - len(waiting)),
            queue_locked=0,
            oldest_queued_age=max(0.0, now - min(waiting)) if waiting else None,
            held_total=_get(current.servers.get(sid), "held"),
            outgoing_last_hour=last_hour,
            incoming_last_hour=server_total(counters, sid, "incoming", hour_start, hour_end),
            send_limit=server.send_limit,
            send_limit_usage_pct=dm.send_limit_usage_pct(last_hour, server.send_limit),
        )

    def _domain_samples(
        self, sid: int, current: _Snapshot, previous: _Snapshot, window: float
    ) -> list[dm.DomainSample]:
        """The server's busiest recipient domains of the window."""
        rows: list[tuple[str | None, int | None, str | None, int]] = []
        for (dsid, domain), totals in current.domains.items():
            if dsid == sid:
                count = _get(_minus(totals, previous.domains.get((dsid, domain))), "outgoing")
                if count:
                    rows.append(("outgoing", None, domain, count))
        return list(dm.top_domains(sid, rows, self.top_domains, window))


def _credential_samples(
    server: MailServer, current: _Snapshot, previous: _Snapshot, window: float
) -> list[dm.CredentialSample]:
    """Outgoing messages of the window per credential of ``server`` (credentials that sent any)."""
    out: list[dm.CredentialSample] = []
    for cred in server.credentials:
        count = _get(_minus(current.credentials.get(cred.id), previous.credentials.get(cred.id)), "outgoing")
        if count:
            rate = dm.rate_per_minute(count, window)
            out.append(dm.CredentialSample(cred.id, server.id, cred.name, cred.type, count, rate))
    return out


def ready_queue(fleet: Fleet) -> dict[int, list[float]]:
    """Creation times of the messages ready and waiting for a worker, per server id.

    Reads the simulated worker's ready lists (it has no public accessor yet).
    """
    ready: dict[str, list[object]] = getattr(fleet.worker, "_ready", {})
    out: dict[int, list[float]] = {}
    for waiting in ready.values():
        for qm in waiting:
            server = getattr(qm, "server", None)
            created = getattr(qm, "created", None)
            if server is not None and isinstance(created, float | int):
                out.setdefault(int(server.id), []).append(float(created))
    return out

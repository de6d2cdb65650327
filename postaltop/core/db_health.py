"""The database connection's health: its states, how a failure is classified, the reconnect backoff, and what
Postal's health servers report (split from :mod:`postaltop.core.dbmetrics`, which re-exports every name)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HealthSample:
    """What one Postal process's health-server ``/metrics`` said (v3; read over SSH)."""

    host: str
    component: str
    """``worker`` (port 9090, queue latency) or ``smtp`` (port 9091)."""
    fetched_at: float
    ok: bool
    error: str | None = None
    queue_latency_mean: float | None = None
    """Mean seconds between queueing and processing, over the observations since the previous scrape."""
    queue_latency_p50: float | None = None
    queue_latency_p95: float | None = None
    queue_latency_observations: float = 0.0
    """Messages dequeued since the previous scrape (the histogram's count delta)."""
    counters: tuple[tuple[str, float], ...] = ()
    """Selected counter totals (``name{labels}``, value) as exposed."""


def queue_latency_text(samples: Iterable[HealthSample]) -> str | None:
    """``mx1 0.8 s (p95 2.1 s)`` for every worker with a latency figure; None when there is none."""
    parts = []
    for sample in samples:
        if sample.component != "worker":
            continue
        if not sample.ok:
            parts.append(f"{sample.host} ?")
        elif sample.queue_latency_mean is not None:
            text = f"{sample.host} {sample.queue_latency_mean:.1f} s"
            if sample.queue_latency_p95 is not None:
                text += f" (p95 {sample.queue_latency_p95:.1f} s)"
            parts.append(text)
    return ", ".join(parts) if parts else None


DB_STATES = (
    "ok",
    "degraded",
    "missing-message-db",
    "not-answering",
    "refused",
    "auth-failed",
    "missing-grant",
    "unreachable",
    "error",
)
"""How the database is doing: ``not-answering`` (accepted, no reply in time), ``refused`` (nothing listens),
``auth-failed`` (wrong account or password), ``unreachable`` (no route, unknown host, tunnel down),
``missing-grant``, ``missing-message-db`` (some server's message database is absent), ``degraded`` (other
per-server problems), ``error`` (anything else)."""

_REFUSED_CODES = frozenset({2002, 2003})
_AUTH_CODES = frozenset({1045, 1698})
_GRANT_CODES = frozenset({1044, 1142, 1143})
_UNREACHABLE_CODES = frozenset({2002, 2003, 2005, 2026, 2006, 2013, 2014, 2055, 0})


def classify_failure(code: int | None, text: str, *, timed_out: bool) -> str:
    """The :data:`DB_STATES` value of a failed connection or main query (``code``: MySQL error number)."""
    if timed_out:
        return "not-answering"
    lowered = text.lower()
    if code in _AUTH_CODES:
        return "auth-failed"
    if code in _GRANT_CODES:
        return "missing-grant"
    if code in _REFUSED_CODES and ("refused" in lowered or "errno 111" in lowered):
        return "refused"
    if code in _UNREACHABLE_CODES:
        return "unreachable"
    return "error"


def degraded_state(errors: Sequence[str]) -> str:
    """``ok``, ``missing-message-db`` (every problem is a missing message database) or ``degraded``."""
    if not errors:
        return "ok"
    if all("message database missing" in e for e in errors):
        return "missing-message-db"
    return "degraded"


def backoff_delay(attempt: int, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait before reconnect attempt ``attempt`` (0-based): exponential, capped, jittered.

    Args:
        attempt: how many attempts already failed in a row.
        base: the first delay.
        cap: the longest delay.
        jitter: a random number in [0, 1); the delay is scaled into [50 %, 100 %] of the exponential
            value so that many clients restarted together do not reconnect in lock step.
    """
    exponential = min(cap, base * (2.0 ** min(attempt, 30)))
    return exponential * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))

"""Pieces of :mod:`postaltop.engine`: per-host status, counters, the queued group, back-pressure
reporting and the listener helpers (no Textual, like the engine)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

_L = TypeVar("_L")

RATE_WINDOW_S = 5
"""Seconds over which a host's lines/s is averaged."""
BEHIND_AFTER_S = 1.0
"""The queue must stay more than half full this long after filling up before the front ends say "behind"."""


@dataclass(slots=True)
class HostStatus:
    """What the front ends show about one host."""

    name: str
    state: str = "waiting"
    """A short human state: ``demo``, ``live``, ``connecting``, ``not connected yet (…)``, ``error: …``."""
    last_line_at: float | None = None
    """Clock time the last line from this host was ingested."""
    lines: int = 0
    """Lines ingested from this host since start."""
    _buckets: deque[tuple[int, int]] = field(default_factory=deque, repr=False)

    def count(self, n: int, now: float, recent: int | None = None) -> None:
        """Record ``n`` lines ingested at clock time ``now``, ``recent`` of them new (default: all).

        Only new lines count toward :meth:`rate`: a backlog read at connect (or the demo's history) is
        not what the host logs per second.
        """
        self.lines += n
        self.last_line_at = now
        second = int(now)
        n = n if recent is None else recent
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1] = (second, self._buckets[-1][1] + n)
        else:
            self._buckets.append((second, n))
        while self._buckets and self._buckets[0][0] <= second - RATE_WINDOW_S:
            self._buckets.popleft()

    def rate(self, now: float) -> float:
        """Lines per second over the last :data:`RATE_WINDOW_S` seconds as of ``now``."""
        floor = int(now) - RATE_WINDOW_S
        return sum(n for sec, n in self._buckets if sec > floor) / RATE_WINDOW_S


@dataclass(slots=True)
class _Pending:
    host: str
    component: str
    lines: Sequence[bytes]
    received_at: float


@dataclass(slots=True)
class EngineStats:
    """Counters for the status line and benchmarks."""

    ingested: int = 0
    batches: int = 0
    queue_full_waits: int = 0
    ingest_seconds: float = 0.0


class _BackPressure:
    """Says when ingest falls behind (the engine's queue filled up and stays over half full)."""

    behind_since: float | None
    behind_since_wall: float | None
    queued_lines: int
    queued_by_host: dict[str, int]
    clock: Callable[[], float]
    _monotonic: Callable[[], float]
    _queue: asyncio.Queue[Any] | None
    _queue_size: int

    def _note_full(self) -> None:
        if self.behind_since is None:
            self.behind_since = self._monotonic()
            self.behind_since_wall = self.clock()

    def is_behind(self) -> bool:
        """True while ingest falls behind: the queue filled up and stayed over half full for a while."""
        if self.behind_since is None:
            return False
        if self._queue is None or self._queue.qsize() * 2 <= self._queue_size:
            self.behind_since = self.behind_since_wall = None  # caught up
            return False
        return self._monotonic() - self.behind_since >= BEHIND_AFTER_S

    def behind_text(self) -> str:
        """``behind since HH:MM:SS: N lines queued (mx1 N, …)`` for the status line, ``""`` when keeping up.

        Queued lines are not lost: the sources wait, and every line is retained once ingested.
        """
        if not self.is_behind():
            return ""
        since = self.behind_since_wall if self.behind_since_wall is not None else self.clock()
        hosts = sorted(self.queued_by_host.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = ", ".join(f"{name} {n:,}" for name, n in hosts[:3])
        if len(hosts) > 3:
            shown += f", +{len(hosts) - 3} hosts"
        clock = time.strftime("%H:%M:%S", time.gmtime(since))
        return f"behind since {clock}: {self.queued_lines:,} lines queued ({shown})"


def _listen(listeners: list[_L], listener: _L) -> Callable[[], None]:
    """Add ``listener`` to ``listeners``; returns a function that removes it again (twice is harmless)."""
    listeners.append(listener)

    def unsubscribe() -> None:
        if listener in listeners:
            listeners.remove(listener)

    return unsubscribe


def _groups_of(batch: Any) -> Iterable[tuple[str, str, Sequence[bytes]]]:
    """Normalise the shapes sources yield into ``(host, component, lines)`` groups."""
    if isinstance(batch, tuple) and len(batch) == 3 and isinstance(batch[0], str):
        return [batch]
    groups = getattr(batch, "groups", None)
    if groups is not None:
        return list(groups)
    return list(batch)

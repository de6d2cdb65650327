"""Merge lines from many hosts/streams in time order, and notice hosts whose clock is off.

Lines of different streams arrive interleaved by network timing, not by the time they were
logged. :class:`ReorderBuffer` holds each item for at most ``window`` seconds (of the caller's
clock) and releases items in timestamp order: an item is released once every active stream has
moved past its time (the watermark), once it is older than the window, or when the buffer is full
(never unbounded). Order *within* a stream is always kept: a stream's timestamps are made
non-decreasing before ordering, so a stderr line with a slightly older stamp stays where it came.

:class:`SkewDetector` estimates each host's clock offset from (line time, arrival time) pairs: the
difference ``line_time - arrival`` is ``offset - latency``; its maximum over a recent horizon
approaches the offset (latency is never negative, and live lines have little of it). Hosts whose
estimate differs from the others' median by more than a tolerance are reported, because a skewed
clock silently reorders the merged view and shifts per-minute metrics.

Pure: the caller passes every time in.
"""

from __future__ import annotations

import heapq
import statistics
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _StreamState:
    last_ts: float = float("-inf")
    """Largest (monotonised) time pushed so far."""
    last_push: float = float("-inf")
    """Caller's clock at the last push: a stream silent for a window no longer holds the watermark."""


class ReorderBuffer(Generic[T]):
    """A bounded reordering window over several time-stamped streams.

    Args:
        window: seconds an item may wait for older items from other streams.
        max_items: items held at most; beyond it the oldest are released early.
    """

    def __init__(self, window: float = 1.0, max_items: int = 100_000) -> None:
        if window < 0:
            raise ValueError("window must be >= 0")
        if max_items < 1:
            raise ValueError("max_items must be >= 1")
        self.window = window
        self.max_items = max_items
        self._heap: list[tuple[float, int, T]] = []
        self._seq = 0
        self._streams: dict[Hashable, _StreamState] = {}
        self.released_early = 0
        """Items released before their window elapsed because the buffer was full."""

    def __len__(self) -> int:
        return len(self._heap)

    def register(self, stream: Hashable, now: float) -> None:
        """Declare a stream before its first item, so the watermark waits for it (up to the window)."""
        state = self._streams.setdefault(stream, _StreamState())
        state.last_push = max(state.last_push, now)

    def push(self, stream: Hashable, ts: float, item: T, now: float) -> None:
        """Add one item of ``stream`` logged at ``ts``; ``now`` is the caller's clock."""
        self.push_batch(stream, (ts,), (item,), now)

    def push_batch(self, stream: Hashable, times: Sequence[float], items: Sequence[T], now: float) -> None:
        """Add consecutive items of one stream (parallel sequences of times and items)."""
        state = self._streams.get(stream)
        if state is None:
            state = self._streams[stream] = _StreamState()
        last = state.last_ts
        heap = self._heap
        seq = self._seq
        for ts, item in zip(times, items, strict=True):
            if ts > last:
                last = ts
            heapq.heappush(heap, (last, seq, item))
            seq += 1
        self._seq = seq
        state.last_ts = last
        state.last_push = now

    def watermark(self, now: float) -> float:
        """Time up to which every stream active within the window has delivered.

        With no stream active (all silent for longer than the window) nothing can overtake the
        buffered items any more: the watermark is infinite.
        """
        active = [s.last_ts for s in self._streams.values() if now - s.last_push <= self.window]
        return min(active) if active else float("inf")

    def pop_ready(self, now: float, skew_window_ts: float | None = None) -> list[T]:
        """Release the items that can no longer be overtaken, in time order.

        Args:
            now: the caller's clock (same clock as passed to :meth:`push`).
            skew_window_ts: optional "current time" in the streams' time domain; items older than
                it minus the window are released even if a stream lags. Defaults to the newest
                pushed time.
        """
        heap = self._heap
        out: list[T] = []
        if not heap:
            return out
        newest = max((s.last_ts for s in self._streams.values()), default=float("-inf"))
        horizon = (newest if skew_window_ts is None else skew_window_ts) - self.window
        limit = max(self.watermark(now), horizon)
        while heap and heap[0][0] <= limit:
            out.append(heapq.heappop(heap)[2])
        while len(heap) > self.max_items:
            out.append(heapq.heappop(heap)[2])
            self.released_early += 1
        return out

    def flush(self) -> list[T]:
        """Release everything, in time order."""
        out = [entry[2] for entry in sorted(self._heap)]
        self._heap.clear()
        return out

    def forget(self, stream: Hashable) -> None:
        """Stop waiting for a stream that ended (its buffered items stay)."""
        self._streams.pop(stream, None)


@dataclass(slots=True)
class SkewReport:
    """A host whose clock disagrees with the others."""

    host: str
    offset: float
    """Estimated seconds the host's clock is ahead (+) or behind (-) of the reference."""
    reference: str
    """What it was compared with: ``"local clock"`` or ``"other hosts"``."""

    def describe(self) -> str:
        """A sentence for the host bar."""
        direction = "ahead of" if self.offset > 0 else "behind"
        return f"{self.host}: clock about {abs(self.offset):.1f}s {direction} {self.reference}"


@dataclass(slots=True)
class _HostSamples:
    buckets: deque[tuple[float, float]] = field(default_factory=deque)
    """(bucket start on the caller's clock, max of line_time - arrival in that bucket)."""


class SkewDetector:
    """Estimate per-host clock offsets from line times and arrival times.

    Args:
        horizon: seconds of history the estimate uses.
        bucket: seconds per history bucket (memory is ``horizon / bucket`` floats per host).
        resolution: the line times' resolution; Postal's own stamps have whole seconds, so an
            estimate is only trusted beyond it.
    """

    def __init__(self, horizon: float = 120.0, bucket: float = 10.0, resolution: float = 1.0) -> None:
        self.horizon = horizon
        self.bucket = bucket
        self.resolution = resolution
        self._hosts: dict[str, _HostSamples] = {}

    def observe(self, host: str, line_ts: float, arrival: float) -> None:
        """Record that a line stamped ``line_ts`` by ``host`` arrived at ``arrival`` (local clock)."""
        samples = self._hosts.get(host)
        if samples is None:
            samples = self._hosts[host] = _HostSamples()
        diff = line_ts - arrival
        start = arrival - arrival % self.bucket
        buckets = samples.buckets
        if buckets and buckets[-1][0] == start:
            if diff > buckets[-1][1]:
                buckets[-1] = (start, diff)
        else:
            buckets.append((start, diff))
        while buckets and buckets[0][0] < arrival - self.horizon:
            buckets.popleft()

    def observe_batch(self, host: str, times: Sequence[float], arrival: float) -> None:
        """Record a batch: only its newest time matters for a maximum."""
        if times:
            self.observe(host, max(times), arrival)

    def offset(self, host: str) -> float | None:
        """Estimated clock offset of ``host`` against the local clock, or None without data."""
        samples = self._hosts.get(host)
        if samples is None or not samples.buckets:
            return None
        return max(diff for _, diff in samples.buckets)

    def offsets(self) -> dict[str, float]:
        """Every host's estimate."""
        found: dict[str, float] = {}
        for host in self._hosts:
            value = self.offset(host)
            if value is not None:
                found[host] = value
        return found

    def skewed(self, tolerance: float = 2.0) -> list[SkewReport]:
        """Hosts whose clock is off by more than ``tolerance`` seconds (plus the stamps' resolution).

        With three or more hosts the reference is their median (robust to one bad clock); with
        fewer it is the local clock, whose own error is then indistinguishable from the host's.
        """
        offsets = self.offsets()
        if not offsets:
            return []
        limit = tolerance + self.resolution
        if len(offsets) >= 3:
            reference, label = statistics.median(offsets.values()), "other hosts"
        else:
            reference, label = 0.0, "local clock"
        # A host-ahead estimate is direct; a host behind also looks like latency, so the
        # resolution-adjusted limit applies to both directions.
        return [
            SkewReport(host, round(value - reference, 3), label)
            for host, value in sorted(offsets.items())
            if abs(value - reference) > limit
        ]

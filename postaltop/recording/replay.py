"""Replay a recording into an engine: recorded time runs at ``speed``, can pause, and can jump forward.

The records are loaded once; :class:`ReplayController` owns the replay clock (the recorded time shown) and
:meth:`ReplayController.run` feeds every record whose time has come to the engine, exactly as the live
sources did (lines with their recorded ``received_at``, poll results through ``publish_metrics``). Jumping
back needs a fresh engine: the front end restarts the replay at the earlier time (:attr:`restart_at`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from postaltop.core.notification import NotificationEvent
from postaltop.recording.file import read_header, read_records
from postaltop.recording.records import (
    AlertRecord,
    AuthHistoryRecord,
    ConnectStateRecord,
    LinesRecord,
    MetricsRecord,
    Record,
)

TICK_SECONDS = 0.1
"""Real seconds between replay steps."""
SLICE_LINES = 2_000
"""Lines fed before the loop is given back (a jump of many minutes stays responsive)."""


def data_times(records: list[Record]) -> list[float]:
    """Each record's time on the data's own clock, never going back.

    A live recording's clock is when each record was received. A demo's lines carry the simulated time
    (``sim_time``), which runs faster than the wall clock at ``--speed high``: replay follows it, so the
    replay bar, the host bar and the panel show one clock and a jump of 5 minutes is 5 simulated minutes.
    Records without a simulated time (polls, alert events) take the offset of the nearest lines record
    before them (after them, for the first ones).
    """
    offsets: list[float | None] = [
        r.sim_time - r.at if isinstance(r, LinesRecord) and r.sim_time is not None else None for r in records
    ]
    first = next((o for o in offsets if o is not None), 0.0)
    times: list[float] = []
    offset = first
    for record, own in zip(records, offsets, strict=True):
        if own is not None:
            offset = own
        at = record.at + offset
        times.append(max(at, times[-1]) if times else at)
    return times


class Recording:
    """A recording loaded in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header = read_header(path)
        self.records: list[Record] = list(read_records(path))
        self.times = data_times(self.records)
        """Each record's time on the data's clock (see :func:`data_times`)."""
        self.start = self.times[0] if self.times else 0.0
        self.end = self.times[-1] if self.times else 0.0

    @property
    def meta(self) -> dict[str, Any]:
        """The header's free-form fields (mode, scenario...)."""
        meta = self.header.get("meta")
        return meta if isinstance(meta, dict) else {}

    def connect_state(self) -> ConnectStateRecord | None:
        """What the live run's monitor read at first connect (None: not recorded)."""
        return next((r for r in self.records if isinstance(r, ConnectStateRecord)), None)

    def hosts(self) -> list[str]:
        """Hosts that have lines, in first-appearance order."""
        seen: dict[str, None] = {}
        for record in self.records:
            if isinstance(record, LinesRecord) and record.host:
                seen.setdefault(record.host, None)
        return list(seen)


class ReplayController:
    """The replay clock and the feeding loop.

    Args:
        recording: what to replay.
        speed: recorded seconds per real second.
        start_at: recorded time to start from (records before it are fed at once); default the beginning.
        paused: start paused.
        monotonic: real clock (tests).
    """

    def __init__(
        self,
        recording: Recording,
        *,
        speed: float = 1.0,
        start_at: float | None = None,
        paused: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.recording = recording
        self.speed = speed
        self.paused = paused
        self.position = recording.start if start_at is None else max(recording.start, start_at)
        self.index = 0
        self.alerts: list[NotificationEvent] = []
        """Recorded alert transitions replayed so far."""
        self.restart_at: float | None = None
        """Set when a jump back was asked for: the front end restarts the replay from there."""
        self._monotonic = monotonic
        self.on_auth_history: Callable[[tuple[tuple[str, str, tuple[bytes, ...]], ...]], object] | None = None
        """Hands recorded authentication read-backs to the replay's client-network detector."""

    # -- the clock --------------------------------------------------------------------

    def now(self) -> float:
        """The replay's current recorded time (the engine's clock during replay)."""
        return self.position

    @property
    def finished(self) -> bool:
        """True when every record was fed."""
        return self.index >= len(self.recording.records)

    @property
    def progress(self) -> float:
        """0..1 of the recording's time span."""
        span = self.recording.end - self.recording.start
        return 1.0 if span <= 0 else min(1.0, max(0.0, (self.position - self.recording.start) / span))

    def toggle_pause(self) -> bool:
        """Pause or resume; returns True when now paused."""
        self.paused = not self.paused
        return self.paused

    def set_speed(self, speed: float) -> None:
        """Change the speed (clamped to 0.1..3600)."""
        self.speed = min(3600.0, max(0.1, speed))

    def jump(self, seconds: float) -> bool:
        """Move the replay clock; returns False when going back needs a restart (see :attr:`restart_at`)."""
        target = min(self.recording.end, max(self.recording.start, self.position + seconds))
        if target < self.position:
            self.restart_at = target
            return False
        self.position = target
        return True

    # -- feeding ----------------------------------------------------------------------

    def next_due(self) -> Record | None:
        """The next record whose time has come, or None (the caller applies it, then calls :meth:`done`)."""
        records = self.recording.records
        if self.index < len(records) and self.recording.times[self.index] <= self.position:
            return records[self.index]
        return None

    def done(self) -> None:
        """The record returned by :meth:`next_due` was applied."""
        self.index += 1

    def apply(self, engine: Any, record: Record) -> int:
        """Feed one record to ``engine``; returns the lines fed."""
        if isinstance(record, LinesRecord):
            if record.sim_time is not None:
                engine.sim_time = record.sim_time
            if not record.lines:
                return 0
            if record.host not in engine.hosts:
                engine.set_host(record.host, "replay")
            at = self.recording.times[self.index] if self.index < len(self.recording.times) else record.at
            engine.feed(record.host, record.component, list(record.lines), received_at=at)
            return len(record.lines)
        if isinstance(record, MetricsRecord):
            engine.publish_metrics(record.result)
        elif isinstance(record, AlertRecord):
            self.alerts.append(record.event)
        elif isinstance(record, AuthHistoryRecord) and self.on_auth_history is not None:
            self.on_auth_history(record.groups)
        return 0

    async def run(self, engine: Any) -> None:
        """Feed the engine as the replay clock advances, until cancelled."""
        for host in self.recording.hosts():
            engine.set_host(host, "replay")
        last = self._monotonic()
        while True:
            now = self._monotonic()
            if not self.paused:
                self.position = min(self.recording.end, self.position + (now - last) * self.speed)
            last = now
            fed = 0
            while (record := self.next_due()) is not None:
                fed += self.apply(engine, record)
                self.done()
                if fed >= SLICE_LINES:
                    fed = 0
                    await asyncio.sleep(0)
            await asyncio.sleep(TICK_SECONDS)

    def open_alerts(self) -> dict[str, NotificationEvent]:
        """Recorded alerts still firing at the current position, by key."""
        out: dict[str, NotificationEvent] = {}
        for event in self.alerts:
            if event.firing:
                out[event.key] = event
            else:
                out.pop(event.key, None)
        return out

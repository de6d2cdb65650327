"""One notification per incident: dedup, repeat interval, resolves, retries with backoff, dead letters.

:meth:`Dispatcher.submit` is synchronous and cheap (detectors call it on every transition, however often); it
decides whether the transition is news and queues one delivery per channel. :meth:`Dispatcher.run` delivers
them; each channel has its own worker so a channel that is down never delays the others. A delivery that still
fails after ``attempts`` tries (or fails permanently) is appended to the dead-letter JSONL file.

With a :class:`~postaltop.notify.silences.SilenceGate`, the paging channels (all but Alertmanager) skip an
incident silenced in Alertmanager, and its resolve. With an :class:`~postaltop.store.incidents.IncidentStore`,
the open incidents survive a restart: one the detectors confirm again is not paged twice, and one they do not
confirm within ``restore_grace`` seconds is resolved.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postaltop.core.notification import NotificationEvent, severity_rank
from postaltop.notify.channels import Channel, DeliveryError
from postaltop.private_files import open_private_text

if TYPE_CHECKING:
    from postaltop.notify.silences import SilenceGate
    from postaltop.store.incidents import IncidentStore

LogFn = Callable[..., None]
"""``log(event_name, **fields)``: the structured logger of the front end."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: ``base``, ``2*base``, … capped at ``cap``, for at most ``attempts`` tries."""

    attempts: int = 5
    base: float = 2.0
    cap: float = 120.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed attempts (1-based)."""
        return float(min(self.cap, self.base * (2.0 ** max(0, failures - 1))))


@dataclass(slots=True)
class Incident:
    """What the dispatcher remembers of one open incident."""

    event: NotificationEvent
    notified_at: float
    refreshed_at: dict[str, float] = field(default_factory=dict)
    restored: bool = False
    """Loaded from the incident store at start and not yet confirmed by the detectors."""
    notified_severity: str = ""
    """The highest severity notified for it: it is paged again only above that (a dip to ``warning`` and back
    to ``critical`` is the same incident)."""

    def __post_init__(self) -> None:
        if not self.notified_severity:
            self.notified_severity = self.event.severity


@dataclass(slots=True)
class DispatchStats:
    """Counters (exported as metrics and logged at shutdown)."""

    submitted: int = 0
    notified: int = 0
    deduplicated: int = 0
    below_severity: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    silenced: dict[str, int] = field(default_factory=dict)
    """Deliveries skipped per channel because Alertmanager holds a silence for the incident."""
    restored: int = 0
    """Open incidents loaded from the store at start."""


def _noop_log(_event: str, **_fields: Any) -> None:
    return None


class Dispatcher:
    """Routes alert transitions to channels.

    Args:
        channels: where notifications go.
        repeat_interval: seconds before a still-open incident is notified again.
        retry: the retry policy.
        dead_letter: JSONL file for undeliverable notifications (None: only logged).
        min_severity: firing transitions below this severity are dropped.
        clock: wall clock (UNIX seconds).
        sleep: the wait between retries (tests pass a fast one).
        log: structured logger.
        gate: Alertmanager's silences, checked before each delivery to ``gated`` channels.
        gated: names of the channels the gate applies to.
        store: where open incidents are kept across restarts.
        restore_grace: seconds a restored incident waits for the detectors before it is resolved.
    """

    def __init__(
        self,
        channels: Sequence[Channel],
        *,
        repeat_interval: float = 14_400.0,
        retry: RetryPolicy | None = None,
        dead_letter: Path | None = None,
        min_severity: str = "info",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        log: LogFn = _noop_log,
        gate: SilenceGate | None = None,
        gated: frozenset[str] = frozenset(),
        store: IncidentStore | None = None,
        restore_grace: float = 900.0,
    ) -> None:
        self.channels = list(channels)
        self.repeat_interval = repeat_interval
        self.retry = retry or RetryPolicy()
        self.dead_letter = dead_letter
        self.min_rank = severity_rank(min_severity)
        self.clock = clock
        self._sleep = sleep
        self._log = log
        self.open: dict[str, Incident] = {}
        self.stats = DispatchStats()
        self._queues: dict[str, asyncio.Queue[NotificationEvent]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight: dict[str, NotificationEvent | None] = {}
        self.gate = gate
        self.gated = gated
        self.store = store
        self.restore_grace = restore_grace
        self._silenced: set[tuple[str, str]] = set()
        self._started = clock()
        if store is not None:
            for event, notified_at in store.load():
                self.open[event.key] = Incident(event, notified_at, restored=True)
                self.stats.restored += 1

    # -- deciding ---------------------------------------------------------------------

    def submit(self, event: NotificationEvent) -> bool:
        """Take one alert transition; returns True when it was queued for delivery (news), False when not."""
        self.stats.submitted += 1
        known = self.open.get(event.key)
        if event.firing:
            if severity_rank(event.severity) < self.min_rank and known is None:
                self.stats.below_severity += 1
                return False
            if known is not None and known.restored:
                known.restored = False
                self._log("incident_confirmed", key=event.key, severity=event.severity)
            if known is not None and severity_rank(event.severity) <= severity_rank(known.notified_severity):
                known.event = _keep_start(event, known.event)
                self.stats.deduplicated += 1
                return False
            started = known.event.started_at if known is not None else event.started_at
            event = _with_start(event, started)
            self.open[event.key] = Incident(event, self.clock())
            self._remember(event, self.clock())
        else:
            if known is None:
                self.stats.deduplicated += 1
                return False
            del self.open[event.key]
            self._forget(event.key)
            event = _with_start(event, known.event.started_at)
        self._enqueue(event, self.channels)
        return True

    def _remember(self, event: NotificationEvent, notified_at: float) -> None:
        if self.store is not None:
            try:
                self.store.save(event, notified_at)
            except sqlite3.Error as exc:
                self._log("incident_store_failed", key=event.key, error=str(exc))

    def _forget(self, key: str) -> None:
        if self.store is not None:
            try:
                self.store.delete(key)
            except sqlite3.Error as exc:
                self._log("incident_store_failed", key=key, error=str(exc))

    def _resolve_unconfirmed(self, now: float) -> int:
        """Resolve restored incidents the detectors have not confirmed within the grace period."""
        if now - self._started < self.restore_grace:
            return 0
        stale = [key for key, incident in self.open.items() if incident.restored]
        for key in stale:
            incident = self.open.pop(key)
            self._forget(key)
            self._log("incident_not_confirmed", key=key, grace=self.restore_grace)
            resolved = _replace(incident.event, status="resolved", at=now, ended_at=now)
            self._enqueue(resolved, self.channels)
        return len(stale)

    def tick(self) -> int:
        """Re-notify incidents open ``repeat_interval`` and refresh channels that need it; returns sends."""
        now = self.clock()
        sent = self._resolve_unconfirmed(now)
        for incident in self.open.values():
            if now - incident.notified_at >= self.repeat_interval:
                incident.notified_at = now
                incident.refreshed_at.clear()
                self._remember(incident.event, now)
                self._enqueue(_at(incident.event, now), self.channels)
                sent += 1
                continue
            for channel in self.channels:
                every = channel.refresh_interval
                if every is None:
                    continue
                last = incident.refreshed_at.get(channel.name, incident.notified_at)
                if now - last >= every:
                    incident.refreshed_at[channel.name] = now
                    self._enqueue(_at(incident.event, now), [channel], count=False)
                    sent += 1
        return sent

    def _enqueue(self, event: NotificationEvent, channels: Sequence[Channel], count: bool = True) -> None:
        if count:
            self.stats.notified += 1
            self._log(
                "notification", key=event.key, status=event.status, severity=event.severity, scope=event.scope
            )
        for channel in channels:
            queue = self._queues.get(channel.name)
            if queue is None:
                queue = self._queues[channel.name] = asyncio.Queue()
            queue.put_nowait(event)

    # -- delivering -------------------------------------------------------------------

    async def run(self, tick_every: float = 5.0) -> None:
        """Deliver queued notifications and run :meth:`tick` every ``tick_every`` seconds, until cancelled."""
        for channel in self.channels:
            self._queues.setdefault(channel.name, asyncio.Queue())
            self._tasks.append(asyncio.create_task(self._worker(channel), name=f"notify-{channel.name}"))
        try:
            while True:
                await asyncio.sleep(tick_every)
                self.tick()
        finally:
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._tasks.clear()

    async def _worker(self, channel: Channel) -> None:
        queue = self._queues[channel.name]
        while True:
            event = await queue.get()
            self._in_flight[channel.name] = event
            try:
                await self.deliver(channel, event)
            finally:
                self._in_flight[channel.name] = None
                queue.task_done()

    async def silenced(self, channel: Channel, event: NotificationEvent) -> bool:
        """True when ``event`` must not go to ``channel``: Alertmanager silences the incident (or silenced
        its firing, for a resolve). A silence that cannot be read never stops a page."""
        if self.gate is None or channel.name not in self.gated:
            return False
        mark = (channel.name, event.key)
        if not event.firing:
            if mark in self._silenced:
                self._silenced.discard(mark)
                self._log("silenced", channel=channel.name, key=event.key, status=event.status)
                return True
            return False
        silence = await self.gate.silenced_by(event)
        if silence is None:
            if self.gate.last_error is not None:
                self._log(
                    "silence_lookup_failed", channel=channel.name, key=event.key, error=self.gate.last_error
                )
            self._silenced.discard(mark)
            return False
        self._silenced.add(mark)
        self.stats.silenced[channel.name] = self.stats.silenced.get(channel.name, 0) + 1
        self._log(
            "silenced",
            channel=channel.name,
            key=event.key,
            status=event.status,
            silence=silence.id,
            by=silence.created_by,
        )
        return True

    async def deliver(self, channel: Channel, event: NotificationEvent) -> bool:
        """Send ``event`` to ``channel`` with retries; dead-letters it when that fails. Returns success
        (a delivery skipped because of an Alertmanager silence counts as a success)."""
        if await self.silenced(channel, event):
            return True
        failures = 0
        error = "no attempt"
        while failures < self.retry.attempts:
            try:
                await channel.send(event)
            except DeliveryError as exc:
                failures += 1
                error = str(exc)
                self._log(
                    "delivery_failed", channel=channel.name, key=event.key, attempt=failures, error=error
                )
                if exc.permanent or failures >= self.retry.attempts:
                    break
                self.stats.retries[channel.name] = self.stats.retries.get(channel.name, 0) + 1
                await self._sleep(self.retry.delay(failures))
            else:
                self.stats.delivered[channel.name] = self.stats.delivered.get(channel.name, 0) + 1
                self._log("delivered", channel=channel.name, key=event.key, status=event.status)
                return True
        self.write_dead_letter(channel.name, event, error, failures)
        return False

    def pending(self) -> int:
        """Deliveries queued or in flight."""
        waiting = sum(q.qsize() for q in self._queues.values())
        return waiting + sum(1 for e in self._in_flight.values() if e is not None)

    async def flush(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for queued deliveries; dead-letter what is still undelivered."""
        deadline = time.monotonic() + timeout
        while self.pending() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for name, queue in self._queues.items():
            in_flight = self._in_flight.get(name)
            if in_flight is not None:
                self.write_dead_letter(name, in_flight, "shutdown before delivery", 0)
                self._in_flight[name] = None
            while not queue.empty():
                self.write_dead_letter(name, queue.get_nowait(), "shutdown before delivery", 0)
                queue.task_done()

    def write_dead_letter(self, channel: str, event: NotificationEvent, error: str, attempts: int) -> None:
        """Append one undeliverable notification to the dead-letter file (mode 0600) and log it."""
        self.stats.dead_letters[channel] = self.stats.dead_letters.get(channel, 0) + 1
        self._log("dead_letter", channel=channel, key=event.key, status=event.status, error=error)
        if self.dead_letter is None:
            return
        record = {
            "at": self.clock(),
            "channel": channel,
            "error": error,
            "attempts": attempts,
            "event": event.to_dict(),
        }
        try:
            with open_private_text(self.dead_letter, "a") as out:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError as exc:
            self._log("dead_letter_write_failed", path=str(self.dead_letter), error=exc.strerror or str(exc))


def _with_start(event: NotificationEvent, started_at: float) -> NotificationEvent:
    if event.started_at == started_at:
        return event
    return _replace(event, started_at=started_at)


def _keep_start(event: NotificationEvent, known: NotificationEvent) -> NotificationEvent:
    return _with_start(event, known.started_at)


def _at(event: NotificationEvent, at: float) -> NotificationEvent:
    return _replace(event, at=at)


def _replace(event: NotificationEvent, **changes: Any) -> NotificationEvent:
    data = event.to_dict()
    data.update(changes)
    return NotificationEvent.from_dict(data)

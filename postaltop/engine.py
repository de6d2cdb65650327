"""The one pipeline: sources → bounded queue → ingest (parse, store, facts) → a cheap change signal.

The TUI and the headless ``watch`` mode are two front ends on this engine, so nothing here imports
Textual. Front ends either poll :attr:`Engine.version` on their own timer (the TUI does, at
``refresh_hz``) or :meth:`Engine.subscribe` to a callback that fires at most ``refresh_hz`` times a
second. Ingest never depends on the front end keeping up: every line is parsed, stored and its facts
handed to fact listeners; only rendering is coalesced.

Back-pressure: sources put groups of lines on a bounded queue; when ingest falls behind, a source's
``await engine.submit(...)`` waits (an SSH reader then stops reading, TCP flow control does the rest).
Every line is retained (up to the store's capacity): the panel never samples. Keeping only a sample
would not help anyway, since facts must still be extracted from every line, and measured, a sampled
feed was slower than a full one. While the queue stays full, :meth:`Engine.behind_text` says since
when, how many lines wait and from which hosts.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterable, Callable, Sequence
from typing import Any

from postaltop.core.dbmetrics import PollResult
from postaltop.core.ingest import Ingestor, IngestResult
from postaltop.core.logstore import LogStore
from postaltop.engine_parts import (
    BEHIND_AFTER_S,
    RATE_WINDOW_S,
    EngineStats,
    HostStatus,
    _BackPressure,
    _groups_of,
    _listen,
    _Pending,
)

Clock = Callable[[], float]
Listener = Callable[[], None]
FactListener = Callable[[IngestResult], None]
MetricsListener = Callable[[PollResult], None]
LineListener = Callable[[str, str, Sequence[bytes], float], None]
"""Told ``(host, component, lines, received_at)`` of every group before it is ingested (recordings)."""


__all__ = [
    "BACKLOG_AGE_S",
    "BEHIND_AFTER_S",
    "METRICS_HISTORY",
    "RATE_WINDOW_S",
    "SLICE_SECONDS",
    "Engine",
    "EngineStats",
    "HostStatus",
]

METRICS_HISTORY = 720
"""Poll results kept in :attr:`Engine.metrics_history` (an hour at the default 5 s interval)."""

SLICE_SECONDS = 0.008
"""Longest stretch of ingest work before the loop is given back to the UI."""

BACKLOG_AGE_S = 15.0
"""Lines logged longer ago than this when ingested are backlog (read at connect, the demo's history):
kept and counted, but not in the host's lines/s. A host clock off by more than this is flagged anyway."""


class Engine(_BackPressure):
    """Owns the log store and the ingestor, runs sources, and publishes a change signal.

    Args:
        retained_lines: capacity of the log store ring.
        refresh_hz: most change callbacks per second (the TUI also uses it for its own timer).
        clock: wall clock (UNIX seconds); stamps received lines and host activity. Injected for tests.
        monotonic: monotonic clock used only to throttle change callbacks.
        queue_size: most pending groups between sources and ingest.
        ingest_budget_lines: most lines handed to the ingestor in one call (bigger groups are cut),
            so the loop can be given back between pieces.
    """

    def __init__(
        self,
        *,
        retained_lines: int = 1_000_000,
        refresh_hz: float = 10.0,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
        queue_size: int = 1024,
        ingest_budget_lines: int = 4096,
    ) -> None:
        if refresh_hz <= 0:
            raise ValueError("refresh_hz must be positive")
        self.store = LogStore(capacity=retained_lines)
        self.ingestor = Ingestor(self.store)
        self.refresh_hz = refresh_hz
        self.clock = clock
        self._monotonic = monotonic
        self.hosts: dict[str, HostStatus] = {}
        self.version = 0
        """Bumped after every ingest; a front end redraws when it differs from what it drew."""
        self.stats = EngineStats()
        self.sim_time: float | None = None
        """The demo's simulated time, when a demo source runs."""
        self._queue: asyncio.Queue[_Pending] | None = None
        self._queue_size = queue_size
        self._budget = max(1, ingest_budget_lines)
        self._listeners: list[Listener] = []
        self._fact_listeners: list[FactListener] = []
        self._metrics_listeners: list[MetricsListener] = []
        self._line_listeners: list[LineListener] = []
        self.latest_metrics: PollResult | None = None
        """The newest poll result of the database (or simulated) metrics source."""
        self.metrics_history: deque[PollResult] = deque(maxlen=METRICS_HISTORY)
        self._last_publish = float("-inf")
        self._publish_handle: asyncio.TimerHandle | None = None
        self._published_version = 0
        # -- back-pressure: see is_behind() / behind_text()
        self.behind_since: float | None = None
        """Monotonic time the queue was last found full while not behind (None: keeping up)."""
        self.behind_since_wall: float | None = None
        """The same moment on :attr:`clock` (shown to the user)."""
        self.queued_lines = 0
        """Lines waiting in the queue."""
        self.queued_by_host: dict[str, int] = {}
        """Lines waiting in the queue, per host."""

    # -- hosts ------------------------------------------------------------------------

    def set_host(self, name: str, state: str) -> HostStatus:
        """Declare a host (or change its state text); returns its status."""
        status = self.hosts.get(name)
        if status is None:
            status = self.hosts[name] = HostStatus(name=name, state=state)
        elif status.state != state:
            status.state = state
        else:
            return status
        self.version += 1
        return status

    def host_rates(self) -> dict[str, float]:
        """Lines per second of each host, as of now."""
        now = self.clock()
        return {name: st.rate(now) for name, st in self.hosts.items()}

    # -- ingest -----------------------------------------------------------------------

    def feed(
        self, host: str, component: str, lines: Sequence[bytes], received_at: float | None = None
    ) -> IngestResult:
        """Ingest one group of lines now (synchronously), bypassing the queue.

        Args:
            host: the host the lines came from.
            component: the Postal process or container (``smtp``, ``worker``, ``web``...).
            lines: raw lines without their newline.
            received_at: when they arrived; defaults to the injected clock.
        """
        now = self.clock() if received_at is None else received_at
        for line_listener in self._line_listeners:
            line_listener(host, component, lines, now)
        started = time.perf_counter()
        result = self.ingestor.feed(host, component, lines, received_at=now)
        self._account(host, result, now, started)
        return result

    def _account(self, host: str, result: IngestResult, now: float, started: float) -> None:
        """Book one ingested group: stats (timed from ``started``), host rate, version, fact listeners."""
        self.stats.ingest_seconds += time.perf_counter() - started
        self.stats.ingested += result.count
        self.stats.batches += 1
        status = self.hosts.get(host)
        if status is None:
            status = self.hosts[host] = HostStatus(name=host, state="live")
        status.count(result.count, now, self._recent_lines(result, now))
        self.version += 1
        for listener in self._fact_listeners:
            listener(result)

    def _recent_lines(self, result: IngestResult, now: float) -> int:
        """Lines of ``result`` logged less than :data:`BACKLOG_AGE_S` before ``now`` (the rest is backlog)."""
        if result.count <= 0:
            return 0
        cutoff = now - BACKLOG_AGE_S
        store = self.store
        first, last = result.first_seq, result.first_seq + result.count - 1
        if first not in store or last not in store:
            return result.count
        block, i = store.locate(last)
        if block.ts[i] < cutoff:
            return 0
        block, i = store.locate(first)
        if block.ts[i] >= cutoff:
            return result.count
        recent = 0
        for seq in range(first, last + 1):
            block, i = store.locate(seq)
            recent += block.ts[i] >= cutoff
        return recent

    def _ensure_queue(self) -> asyncio.Queue[_Pending]:
        if self._queue is None:
            self._queue = asyncio.Queue(maxsize=self._queue_size)
        return self._queue

    async def submit(self, host: str, component: str, lines: Sequence[bytes]) -> None:
        """Queue a group of lines for ingest; waits while the queue is full (back-pressure)."""
        if not lines:
            return
        queue = self._ensure_queue()
        item = _Pending(host, component, lines, self.clock())
        if queue.full():
            self.stats.queue_full_waits += 1
            self._note_full()
        await queue.put(item)
        self._enqueued(item)

    def submit_nowait(self, host: str, component: str, lines: Sequence[bytes]) -> bool:
        """Queue a group without waiting; returns False (and queues nothing) when the queue is full."""
        if not lines:
            return True
        try:
            item = _Pending(host, component, lines, self.clock())
            self._ensure_queue().put_nowait(item)
        except asyncio.QueueFull:
            self.stats.queue_full_waits += 1
            self._note_full()
            return False
        self._enqueued(item)
        return True

    def _enqueued(self, item: _Pending) -> None:
        n = len(item.lines)
        self.queued_lines += n
        self.queued_by_host[item.host] = self.queued_by_host.get(item.host, 0) + n

    def _dequeued(self, item: _Pending) -> None:
        n = len(item.lines)
        self.queued_lines -= n
        left = self.queued_by_host.get(item.host, 0) - n
        if left > 0:
            self.queued_by_host[item.host] = left
        else:
            self.queued_by_host.pop(item.host, None)

    @property
    def pending(self) -> int:
        """Groups waiting in the queue."""
        return 0 if self._queue is None else self._queue.qsize()

    def ingest_now(self, max_lines: int | None = None) -> int:
        """Ingest queued groups synchronously (tests and the run loop); returns lines ingested.

        Args:
            max_lines: stop after the group that crosses this many lines; None drains the queue.
        """
        queue = self._queue
        done = 0
        while queue is not None and not queue.empty():
            item = queue.get_nowait()
            self._dequeued(item)
            done += self.feed(item.host, item.component, item.lines, item.received_at).count
            queue.task_done()
            if max_lines is not None and done >= max_lines:
                break
        if done:
            self._maybe_publish()
        return done

    async def run(self) -> None:
        """Ingest forever: wait for queued lines, ingest them in short slices, publish changes.

        Big groups are cut into ``ingest_budget_lines`` pieces and the loop is given back whenever a
        slice took longer than :data:`SLICE_SECONDS`, so a backfill of millions of lines never
        stalls rendering or key presses (the ingestor keeps each stream's state across pieces).
        """
        queue = self._ensure_queue()
        budget = self._budget
        slice_start = time.perf_counter()
        while True:
            if queue.empty():
                self._maybe_publish()
                item = await queue.get()  # the loop ran other tasks while waiting: a new slice
                slice_start = time.perf_counter()
            else:
                item = queue.get_nowait()
            self._dequeued(item)
            lines = item.lines
            for start in range(0, len(lines), budget):
                piece = lines if len(lines) <= budget else lines[start : start + budget]
                self.feed(item.host, item.component, piece, item.received_at)
                if time.perf_counter() - slice_start > SLICE_SECONDS:
                    await asyncio.sleep(0)
                    slice_start = time.perf_counter()
            queue.task_done()

    async def run_batches(self, batches: AsyncIterable[Any], *, state: str = "live") -> None:
        """Submit every group a source yields until it ends.

        A batch is either one ``(host, component, lines)`` tuple, or an object with a ``groups``
        iterable of such tuples and an optional ``sim_time`` (the demo source).
        """
        async for batch in batches:
            for host, component, lines in _groups_of(batch):
                if host not in self.hosts:
                    self.set_host(host, state)
                await self.submit(host, component, lines)
            sim_time = getattr(batch, "sim_time", None)
            if sim_time is not None:
                self.sim_time = float(sim_time)

    async def drain(self) -> None:
        """Wait until every queued group was ingested (requires :meth:`run` to be running)."""
        if self._queue is not None:
            await self._queue.join()

    # -- publishing -------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after changes, at most ``refresh_hz`` times a second.

        Returns:
            A function that unsubscribes.
        """
        return _listen(self._listeners, listener)

    def on_lines(self, listener: LineListener) -> Callable[[], None]:
        """Call ``listener`` with every raw group just before it is ingested."""
        return _listen(self._line_listeners, listener)

    def on_facts(self, listener: FactListener) -> Callable[[], None]:
        """Call ``listener`` with every ``IngestResult`` (metrics see every line, unthrottled)."""
        return _listen(self._fact_listeners, listener)

    # -- metrics (database poll results) -----------------------------------------------

    def on_metrics(self, listener: MetricsListener) -> Callable[[], None]:
        """Call ``listener`` with every poll result handed to :meth:`publish_metrics`.

        Returns:
            A function that unsubscribes.
        """
        return _listen(self._metrics_listeners, listener)

    def publish_metrics(self, result: PollResult) -> None:
        """Record one poll cycle's result, tell the metrics listeners, and bump :attr:`version`."""
        self.latest_metrics = result
        self.metrics_history.append(result)
        for listener in list(self._metrics_listeners):
            listener(result)
        self.version += 1
        self._maybe_publish()

    def _maybe_publish(self) -> None:
        if not self._listeners or self._publish_handle is not None:
            return
        interval = 1.0 / self.refresh_hz
        wait = self._last_publish + interval - self._monotonic()
        if wait <= 0:
            self._publish()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (synchronous use): the next ingest publishes
        self._publish_handle = loop.call_later(wait, self._publish)

    def _publish(self) -> None:
        self._publish_handle = None
        if self.version == self._published_version:
            return
        self._published_version = self.version
        self._last_publish = self._monotonic()
        for listener in list(self._listeners):
            listener()
